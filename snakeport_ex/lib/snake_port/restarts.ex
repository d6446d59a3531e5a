defmodule SnakePort.Restarts do
  @moduledoc """
  When a worker restarts its crashed adapter: at once while crashes are rare,
  with growing delays in a crash storm.

  Up to `max_restarts` crashes within `max_seconds` restart at once; each
  crash beyond waits `backoff_initial` ms, doubled per extra crash, at most
  `backoff_max`.  A worker never gives up on a crashing adapter (its pool and
  siblings are not involved); an adapter that cannot start at all is another
  matter (see `SnakePort.Worker`).  Pure: the worker passes the clock in.
  """

  @enforce_keys [:max_restarts, :max_seconds, :backoff_initial, :backoff_max]
  defstruct [:max_restarts, :max_seconds, :backoff_initial, :backoff_max, crashes: [], total: 0]

  @type t :: %__MODULE__{
          max_restarts: non_neg_integer(),
          max_seconds: non_neg_integer(),
          backoff_initial: non_neg_integer(),
          backoff_max: non_neg_integer(),
          crashes: [integer()],
          total: non_neg_integer()
        }

  @doc "The policy from pool options."
  @spec new(keyword()) :: t()
  def new(opts) do
    %__MODULE__{
      max_restarts: opts[:max_restarts],
      max_seconds: opts[:max_seconds],
      backoff_initial: opts[:backoff_initial],
      backoff_max: opts[:backoff_max]
    }
  end

  @doc "A crash at `now_ms` (monotonic): how many ms to wait before restarting, and the new state."
  @spec crashed(t(), integer()) :: {non_neg_integer(), t()}
  def crashed(%__MODULE__{} = policy, now_ms) do
    recent = [now_ms | Enum.filter(policy.crashes, &(&1 > now_ms - policy.max_seconds * 1000))]
    excess = length(recent) - policy.max_restarts

    delay =
      if excess <= 0,
        do: 0,
        else: min(policy.backoff_max, policy.backoff_initial * Integer.pow(2, min(excess - 1, 30)))

    {delay, %{policy | crashes: recent, total: policy.total + 1}}
  end

  @doc "Crashes within the window, for messages."
  @spec recent(t()) :: non_neg_integer()
  def recent(%__MODULE__{crashes: crashes}), do: length(crashes)
end
