# The codec demo: Elixir sends terms to Python over a real Port, Python
# decodes them with SnakePort's codec and sends them back re-encoded; Elixir
# decodes the reply with binary_to_term(bin, [:safe]) and checks each term
# came back equal.  Run with: elixir examples/codec_roundtrip.exs
python = System.get_env("SNAKEPORT_PYTHON") || System.find_executable("python3")
script = Path.expand("codec_echo.py", __DIR__)

port = Port.open({:spawn_executable, python}, [:binary, {:packet, 4}, :exit_status, args: [script]])

# Atoms Python may send back must exist before a [:safe] decode.
_known = [:python_saw, :decode_error, :infinity, :neg_infinity, :nan]

terms = [
  %{"call_type" => "call", "python_module" => "math", "function" => "sqrt", "args" => [16], "kwargs" => %{}},
  {:ok, 42, -7, 3.14, 2 ** 100},
  [:atom, :"ünïcödé", true, false, nil],
  "héllo ✓",
  <<255, 0, 1>>,
  'charlist',
  [1, 2 | :improper_tail],
  <<5::3>>,
  %{[1, 2] => :list_key, %{nested: true} => :map_key, {1, 2} => :tuple_key},
  # Python's set and date have no term of their own: they come back as
  # SnakeBridge's tagged maps (which mix_stub's client turns into MapSet/Date).
  {MapSet.new([1, 2, 3]), %{"__type__" => "set", "elements" => [1, 2, 3]}},
  {~D[2026-11-21], %{"__type__" => "date", "value" => "2026-11-21"}},
  self(),
  make_ref(),
  &Enum.map/2,
  Enum.to_list(1..20)
]

results =
  for entry <- terms do
    {term, expected} =
      case entry do
        {%MapSet{}, _} -> entry
        {%Date{}, _} -> entry
        term -> {term, term}
      end

    Port.command(port, :erlang.term_to_binary(term))

    receive do
      {^port, {:data, bin}} ->
        {:python_saw, seen, back} = :erlang.binary_to_term(bin, [:safe])
        same = back === expected
        IO.puts("#{if same, do: "ok  ", else: "FAIL"}  #{inspect(term, limit: 8)}")
        IO.puts("      Python saw #{seen}")
        if back !== term, do: IO.puts("      came back as #{inspect(back, limit: 8)}")
        same
    after
      5_000 -> raise "no reply from Python for #{inspect(term)}"
    end
  end

Port.close(port)
ok = Enum.count(results, & &1)
IO.puts("\n#{ok} of #{length(terms)} terms came back from Python as expected.")
System.halt(if ok == length(terms), do: 0, else: 1)
