# A callback round trip beside a plain call round trip, in one run (mix run from mix_stub/):
#   * plain: SnakeBridge.call("operator", "pos", [i]) from Elixir, one after another;
#   * callback: one call into Python, which calls an Elixir identity fun 10,000 times
#     (each: {:callback, ...} out, a Task runs the fun, {:callback_reply, ...} back).
# Each figure is the best of 3 rounds; target: a callback costs <= 1.5x a plain call.
helpers = Path.expand("helpers", __DIR__)
Application.put_env(:snakebridge, :env, [{"PYTHONPATH", helpers}])

defmodule CallbacksBench do
  @n 10_000

  def run(label) do
    identity = fn x -> x end
    {:ok, _} = SnakeBridge.call("bench_helpers", "call_back", [identity, 1000])

    results =
      for _ <- 1..3 do
        plain = rate(fn -> for i <- 1..@n, do: {:ok, ^i} = SnakeBridge.call("operator", "pos", [i]) end)
        {:ok, callbacks} = SnakeBridge.call("bench_helpers", "call_back", [identity, @n])
        {plain, callbacks}
      end

    plain = results |> Enum.map(&elem(&1, 0)) |> Enum.max()
    callback = results |> Enum.map(&elem(&1, 1)) |> Enum.max()
    ratio = plain / callback

    IO.puts("""

    ### #{label} (schedulers online: #{System.schedulers_online()})

    | round trip | per second | time vs plain call |
    |---|---|---|
    | plain call: SnakeBridge.call("operator", "pos", [i]) | #{fmt(plain)} | 1.00x |
    | callback: Python calls `fn x -> x end` | #{fmt(callback)} | #{:erlang.float_to_binary(ratio, decimals: 2)}x (target <= 1.5x: #{if ratio <= 1.5, do: "met", else: "NOT met"}) |
    """)
  end

  defp rate(fun) do
    t0 = System.monotonic_time()
    fun.()
    @n / (System.convert_time_unit(System.monotonic_time() - t0, :native, :microsecond) / 1.0e6)
  end

  defp fmt(value),
    do: value |> round() |> Integer.to_string() |> String.replace(~r/(\d)(?=(\d{3})+$)/, "\\1,")
end

CallbacksBench.run(System.get_env("BENCH_LABEL", "run"))
