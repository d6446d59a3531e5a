# Opens the adapter as a Port, starts one call, prints the adapter's OS pid, then waits for
# ever (the test kills this BEAM, or asks it to close the port by closing our stdin).
#   elixir orphan.exs PYTHON LAUNCHER FIXTURES FUNCTION ARG...
[python, launcher, fixtures, function | args] = System.argv()

port =
  Port.open({:spawn_executable, python}, [
    :binary,
    {:packet, 4},
    :exit_status,
    args: [launcher],
    env: [
      {~c"PYTHONPATH", String.to_charlist(fixtures)},
      {~c"SNAKEPORT_PURE_GUARD", String.to_charlist(System.get_env("SNAKEPORT_PURE_GUARD", "0"))}
    ]
  ])

receive do
  {^port, {:data, bin}} ->
    {:ready, info} = :erlang.binary_to_term(bin)
    IO.puts("adapter #{info["pid"]} guard #{info["guard"]}")
end

args = Enum.map(args, fn arg -> if arg =~ ~r/^\d+(\.\d+)?$/, do: elem(Float.parse(arg), 0), else: arg end)
call = %{"python_module" => "sp_fixtures", "function" => function, "args" => args}
Port.command(port, :erlang.term_to_binary({:call, 1, call}))

# stdin closed by the test: close the port while the BEAM lives on.
IO.read(:stdio, :eof)
Port.close(port)
IO.puts("port closed")
Process.sleep(:infinity)
