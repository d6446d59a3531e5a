# Calls to a pool on another node of the same machine beside calls to a local
# pool, in one run (mix run from mix_stub/): this node is made distributed on
# 127.0.0.1 and boots a :peer node running SnakeBridge with a pool :remote;
# this node has its own pool :default.  Both pools: one worker, the same
# interpreter and adapter.  Measured through SnakeBridge.call:
#   * the small call, operator.add(1, 2),
#   * 1 MB to Python (builtins.len of a 1 MB binary),
#   * 1 MB from Python (bench_helpers.blob_1mb, made once in Python).
# Each figure is the best of 3 rounds; the ratio is remote time / local time.
helpers = Path.expand("helpers", __DIR__)
Application.put_env(:snakebridge, :env, [{"PYTHONPATH", helpers}])
Application.put_env(:snakebridge, :pools, default: [size: 1])

defmodule DistributionBench do
  @small_n 20_000
  @mb_n 300

  def run(label) do
    {peer, node} = start_peer()

    try do
      remote = [__runtime__: [pool_name: :remote]]
      blob = :binary.copy(<<0xFF>>, 1_048_576)

      cases = [
        {"small call: operator.add(1, 2)", @small_n, fn o -> {:ok, 3} = SnakeBridge.call("operator", "add", [1, 2], o) end},
        {"1 MB to Python: len(blob)", @mb_n, fn o -> {:ok, 1_048_576} = SnakeBridge.call("builtins", "len", [blob], o) end},
        {"1 MB from Python: blob_1mb()", @mb_n,
         fn o -> {:ok, <<_::binary-size(1_048_576)>>} = SnakeBridge.call("bench_helpers", "blob_1mb", [], o) end}
      ]

      rows =
        for {what, n, call} <- cases do
          # Warm both paths (pool start, imports) before timing.
          call.([])
          call.(remote)
          rounds = for _ <- 1..3, do: {rate(n, fn -> call.([]) end), rate(n, fn -> call.(remote) end)}
          local = rounds |> Enum.map(&elem(&1, 0)) |> Enum.max()
          far = rounds |> Enum.map(&elem(&1, 1)) |> Enum.max()
          "| #{what} | #{fmt(local)} | #{fmt(far)} | #{:erlang.float_to_binary(local / far, decimals: 2)}x |"
        end

      IO.puts("""

      ### #{label} (schedulers online: #{System.schedulers_online()}; remote pool on #{node})

      | measurement | local calls/s | remote calls/s | remote time / local time |
      |---|---|---|---|
      #{Enum.join(rows, "\n")}
      """)
    after
      :peer.stop(peer)
    end
  end

  defp start_peer do
    {_, 0} = System.cmd("epmd", ["-daemon"])

    unless Node.alive?() do
      {:ok, _} = Node.start(:"bench_#{System.unique_integer([:positive])}@127.0.0.1", :longnames)
    end

    args = Enum.flat_map(:code.get_path(), &[~c"-pa", &1]) ++ [~c"-setcookie", Atom.to_charlist(Node.get_cookie())]
    name = :"bench_pool_#{System.unique_integer([:positive])}"
    {:ok, peer, node} = :peer.start(%{name: name, host: ~c"127.0.0.1", longnames: true, args: args})
    env = Keyword.put(Application.get_all_env(:snakebridge), :pools, remote: [size: 1])
    for {key, value} <- env, do: :ok = :erpc.call(node, :application, :set_env, [:snakebridge, key, value])
    for app <- [:logger, :elixir, :snakebridge], do: {:ok, _} = :erpc.call(node, :application, :ensure_all_started, [app])
    {:ok, _} = :erpc.call(node, SnakeBridge.Runtime, :pool, [:remote])
    :ok = SnakePort.await_pool({SnakeBridge, :remote}, 10_000)
    {peer, node}
  end

  defp rate(n, fun) do
    {us, _} = :timer.tc(fn -> Enum.each(1..n, fn _ -> fun.() end) end)
    n / (us / 1_000_000)
  end

  defp fmt(rate) when rate >= 100, do: rate |> round() |> Integer.to_string()
  defp fmt(rate), do: :erlang.float_to_binary(rate, decimals: 1)
end

DistributionBench.run(System.get_env("BENCH_LABEL", "unpinned"))
