# SnakeBridge client overhead, in one run (mix run from mix_stub/):
#   * a bare Port round trip to the raw echo (the physical limit),
#   * a bare Port round trip to the adapter (the request built and the reply
#     decoded by hand, as in examples/adapter_demo.exs),
#   * the same with one process between the port and the caller that only
#     forwards each reply (the least any client whose worker owns the port
#     can cost: one process hop),
#   * SnakeBridge.call("operator", "add", [1, 2]) through the client,
#   * the client with 8 and 64 concurrent callers,
#   * 100,000 floats out (bench/helpers/client_helpers.py), bare and through the client.
# Each figure is the best of 3 rounds; targets: the client within 1.1x of the
# bare Port round trip to the adapter, and within 1.15x for the 100k floats.
helpers = Path.expand("helpers", __DIR__)
Application.put_env(:snakebridge, :env, [{"PYTHONPATH", helpers}])

defmodule ClientBench do
  @n 20_000
  @floats_n 200
  @root Path.expand("..", __DIR__)
  @helpers Path.expand("helpers", __DIR__)

  def run(label) do
    python = SnakeBridge.Config.python()

    add = %{
      "call_type" => "call",
      "python_module" => "operator",
      "function" => "add",
      "args" => [1, 2],
      "kwargs" => %{},
      "session_id" => "bench"
    }

    floats = %{add | "python_module" => "client_helpers", "function" => "floats_100k", "args" => []}

    raw = fn -> bare(python, [Path.join(@root, "bench/raw_echo.py")], add, false, @n) end
    adapter = fn -> bare(python, [SnakeBridge.Config.adapter_path()], add, true, @n) end
    forwarded = fn -> forwarded(python, [SnakeBridge.Config.adapter_path()], add) end
    bare_floats = fn -> bare(python, [SnakeBridge.Config.adapter_path()], floats, true, @floats_n) end

    client = fn ->
      {:ok, 3} = SnakeBridge.call("operator", "add", [1, 2])
      rate(@n, fn -> {:ok, 3} = SnakeBridge.call("operator", "add", [1, 2]) end)
    end

    client_floats = fn ->
      {:ok, [+0.0 | _]} = SnakeBridge.call("client_helpers", "floats_100k", [])
      rate(@floats_n, fn -> {:ok, [+0.0 | _]} = SnakeBridge.call("client_helpers", "floats_100k", []) end)
    end

    results =
      for _ <- 1..3 do
        %{
          raw: raw.(),
          adapter: adapter.(),
          forwarded: forwarded.(),
          client: client.(),
          c8: concurrent(8),
          c64: concurrent(64),
          bare_floats: bare_floats.(),
          client_floats: client_floats.()
        }
      end

    best = fn key -> results |> Enum.map(& &1[key]) |> Enum.max() end
    {r, a, c} = {best.(:raw), best.(:adapter), best.(:client)}
    {bf, cf} = {best.(:bare_floats), best.(:client_floats)}

    IO.puts("""

    ### #{label} (schedulers online: #{System.schedulers_online()})

    | measurement | calls/s | time vs bare adapter |
    |---|---|---|
    | bare Port, raw echo | #{fmt(r)} | #{ratio(a, r)}x |
    | bare Port, adapter: operator.add(1, 2) | #{fmt(a)} | 1.00x |
    | bare Port, replies forwarded by one process | #{fmt(best.(:forwarded))} | #{ratio(a, best.(:forwarded))}x |
    | SnakeBridge.call("operator", "add", [1, 2]) | #{fmt(c)} | #{ratio(a, c)}x (target <= 1.1x: #{met(a / c, 1.1)}) |
    | client, 8 concurrent callers | #{fmt(best.(:c8))} | - |
    | client, 64 concurrent callers | #{fmt(best.(:c64))} | - |

    | 100,000 floats out | calls/s | time vs bare |
    |---|---|---|
    | bare Port, adapter | #{fmt(bf)} | 1.00x |
    | SnakeBridge.call | #{fmt(cf)} | #{ratio(bf, cf)}x (target <= 1.15x: #{met(bf / cf, 1.15)}) |
    """)
  end

  defp met(ratio, target), do: if(ratio <= target, do: "met", else: "NOT met")

  defp bare(python, args, request, adapter?, n) do
    env = [{~c"PYTHONPATH", String.to_charlist(@helpers)}]
    port = Port.open({:spawn_executable, python}, [:binary, {:packet, 4}, :exit_status, args: args, env: env])
    if adapter?, do: {:ready, _} = recv(port)

    once = fn id ->
      Port.command(port, :erlang.term_to_binary({:call, id, request}))
      recv(port)
    end

    Enum.each(1..min(n, 1000), once)
    result = rate(n, fn -> once.(7) end)
    Port.close(port)
    result
  end

  # The port's owner forwards each reply to the caller, who wrote the request itself.
  defp forwarded(python, args, request) do
    caller = self()
    env = [{~c"PYTHONPATH", String.to_charlist(@helpers)}]
    port = Port.open({:spawn_executable, python}, [:binary, {:packet, 4}, :exit_status, args: args, env: env])
    {:ready, _} = recv(port)

    owner =
      spawn(fn ->
        forward = fn forward ->
          receive do
            {^port, {:data, bin}} -> send(caller, {:forwarded, bin}) && forward.(forward)
            :stop -> Port.close(port)
          end
        end

        forward.(forward)
      end)

    Port.connect(port, owner)
    Process.unlink(port)

    once = fn id ->
      Port.command(port, :erlang.term_to_binary({:call, id, request}))

      receive do
        {:forwarded, bin} -> :erlang.binary_to_term(bin, [:safe])
      end
    end

    Enum.each(1..1000, once)
    result = rate(@n, fn -> once.(7) end)
    send(owner, :stop)
    result
  end

  defp recv(port) do
    receive do
      {^port, {:data, bin}} -> :erlang.binary_to_term(bin, [:safe])
    after
      10_000 -> raise "no reply"
    end
  end

  defp concurrent(callers) do
    per = div(@n, callers)
    t0 = System.monotonic_time()

    1..callers
    |> Enum.map(fn _ ->
      Task.async(fn -> for _ <- 1..per, do: {:ok, 3} = SnakeBridge.call("operator", "add", [1, 2]) end)
    end)
    |> Enum.each(&Task.await(&1, :infinity))

    per * callers / seconds_since(t0)
  end

  defp rate(n, fun) do
    t0 = System.monotonic_time()
    for _ <- 1..n, do: fun.()
    n / seconds_since(t0)
  end

  defp seconds_since(t0),
    do: System.convert_time_unit(System.monotonic_time() - t0, :native, :microsecond) / 1.0e6

  defp ratio(base, value), do: :erlang.float_to_binary(base / value, decimals: 2)

  defp fmt(value),
    do: value |> round() |> Integer.to_string() |> String.replace(~r/(\d)(?=(\d{3})+$)/, "\\1,")
end

ClientBench.run(System.get_env("BENCH_LABEL", "run"))
