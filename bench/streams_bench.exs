# Stream throughput through the client, in one run (mix run from mix_stub/):
# per-item stream_next, the batched Enumerable (Enum.to_list), the push
# stream (Runtime.stream/5), and Python's own iteration as the ceiling.
helpers = Path.expand("helpers", __DIR__)
Application.put_env(:snakebridge, :adapter_args, ["--helper-path", helpers])
Application.put_env(:snakebridge, :env, [{"PYTHONPATH", helpers}])

defmodule StreamsBench do
  alias SnakeBridge.Runtime

  def rate(n, fun) do
    t0 = System.monotonic_time()
    fun.()
    n / (System.convert_time_unit(System.monotonic_time() - t0, :native, :microsecond) / 1.0e6)
  end

  def per_item(args, n) do
    {:ok, stream} = SnakeBridge.call("bench_helpers", elem(args, 0), elem(args, 1))
    rate(n, fn -> for _ <- 1..n, do: {:ok, _} = Runtime.stream_next(stream) end)
  end

  def batched({function, args}, n) do
    {:ok, stream} = SnakeBridge.call("bench_helpers", function, args)
    rate(n, fn -> ^n = length(Enum.to_list(stream)) end)
  end

  def push({function, args}, n) do
    counter = :counters.new(1, [])

    rate(n, fn ->
      {:ok, :done} =
        Runtime.stream("bench_helpers", function, args, [], fn _ -> :counters.add(counter, 1, 1) end)
    end)
  end

  def fmt(x), do: x |> round() |> Integer.to_string() |> String.replace(~r/(\d)(?=(\d{3})+$)/, "\\1,")

  def run(label) do
    cases = [
      {"100,000 small ints", 100_000, {"ints", [100_000]}, {"ints", [20_000]}, 20_000, ["ints", 100_000]},
      {"10,000 1 KB binaries", 10_000, {"blobs", [10_000, 1024]}, {"blobs", [5_000, 1024]}, 5_000,
       ["blobs", 10_000]}
    ]

    IO.puts("\n### #{label} (schedulers online: #{System.schedulers_online()})\n")

    IO.puts(
      "| items | Python's own iteration | per-item stream_next | batched Enum.to_list | push stream/5 | batched / per-item | push / per-item |"
    )

    IO.puts("|---|---|---|---|---|---|---|")

    for {name, n, full, small, small_n, python} <- cases do
      {:ok, ceiling} = SnakeBridge.call("bench_helpers", "python_rate", python)
      best = fn f -> Enum.max(for _ <- 1..3, do: f.()) end
      one = best.(fn -> per_item(small, small_n) end)
      bat = best.(fn -> batched(full, n) end)
      psh = best.(fn -> push(full, n) end)

      IO.puts(
        "| #{name} | #{fmt(ceiling)}/s | #{fmt(one)}/s | #{fmt(bat)}/s | #{fmt(psh)}/s | " <>
          "#{Float.round(bat / one, 1)}x | #{Float.round(psh / one, 1)}x |"
      )
    end
  end
end

StreamsBench.run(System.get_env("BENCH_LABEL", "run"))
