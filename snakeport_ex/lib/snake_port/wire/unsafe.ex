defmodule SnakePort.Wire.Unsafe do
  @moduledoc """
  Says why `binary_to_term(bin, [:safe])` refused a frame.

  `[:safe]` fails with a bare `ArgumentError`; a user needs to know which
  atom was missing (usually one Python made with `snakeport.Atom(...)` that
  no Elixir code names).  This walks the external term format without
  building the term, checking each atom with `binary_to_existing_atom`, and
  names the first one this VM does not know.  It runs only on the error path.
  """

  @doc "A sentence naming the problem with `bin`."
  @spec explain(binary()) :: String.t()
  def explain(<<131, 80, _size::32, compressed::binary>>) do
    explain(<<131, :zlib.uncompress(compressed)::binary>>)
  rescue
    ErlangError -> "its compressed body is not valid zlib data"
  end

  def explain(<<131, body::binary>>) do
    case walk(body, 1) do
      {:unknown_atom, name} ->
        "it holds the atom :#{name}, which this VM has never seen (frames from Python are decoded " <>
          "with binary_to_term(bin, [:safe]), which creates no atoms; name the atom in Elixir code " <>
          "to make it known)"

      :ok ->
        "it is not a term this VM accepts"

      :invalid ->
        "it is not valid external term format"
    end
  end

  def explain(_), do: "it does not start with the external term format's version byte 131"

  # Skip `n` terms; stop at the first unknown atom.
  defp walk(<<>>, 0), do: :ok
  defp walk(_rest, 0), do: :invalid
  defp walk(<<97, _, rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<98, _::32, rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<70, _::64, rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<99, _::binary-size(31), rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<110, len, _sign, _::binary-size(len), rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<111, len::32, _sign, _::binary-size(len), rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<106, rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<107, len::16, _::binary-size(len), rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<109, len::32, _::binary-size(len), rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<77, len::32, _bits, _::binary-size(len), rest::binary>>, n), do: walk(rest, n - 1)
  defp walk(<<104, arity, rest::binary>>, n), do: walk(rest, n - 1 + arity)
  defp walk(<<105, arity::32, rest::binary>>, n), do: walk(rest, n - 1 + arity)
  defp walk(<<108, len::32, rest::binary>>, n), do: walk(rest, n + len)
  defp walk(<<116, arity::32, rest::binary>>, n), do: walk(rest, n - 1 + 2 * arity)
  # pids, ports, references: a node atom, then fixed-size fields
  defp walk(<<88, rest::binary>>, n), do: node_then(rest, 12, n)
  defp walk(<<103, rest::binary>>, n), do: node_then(rest, 9, n)
  defp walk(<<89, rest::binary>>, n), do: node_then(rest, 8, n)
  defp walk(<<120, rest::binary>>, n), do: node_then(rest, 12, n)
  defp walk(<<102, rest::binary>>, n), do: node_then(rest, 5, n)
  defp walk(<<101, rest::binary>>, n), do: node_then(rest, 5, n)
  defp walk(<<90, len::16, rest::binary>>, n), do: node_then(rest, 4 + 4 * len, n)
  defp walk(<<114, len::16, rest::binary>>, n), do: node_then(rest, 1 + 4 * len, n)
  # NEW_FUN: arity, uniq, index, free-var count, then module, old index, old uniq, pid, free vars
  defp walk(<<112, _size::32, _arity, _uniq::binary-size(16), _index::32, free::32, rest::binary>>, n),
    do: walk(rest, n - 1 + 4 + free)

  # EXPORT: module, function, arity
  defp walk(<<113, rest::binary>>, n), do: walk(rest, n - 1 + 3)
  defp walk(<<tag, _::binary>> = bin, n) when tag in [100, 115, 118, 119], do: atom(bin, n)
  defp walk(_, _), do: :invalid

  defp atom(bin, n) do
    case atom_name(bin) do
      {name, encoding, rest} ->
        if known?(name, encoding), do: walk(rest, n - 1), else: unknown(name, encoding)

      nil ->
        :invalid
    end
  end

  defp node_then(bin, tail, n) do
    case atom_name(bin) do
      {name, encoding, <<_::binary-size(tail), rest::binary>>} ->
        if known?(name, encoding), do: walk(rest, n - 1), else: unknown(name, encoding)

      _ ->
        :invalid
    end
  end

  defp atom_name(<<119, len, name::binary-size(len), rest::binary>>), do: {name, :utf8, rest}
  defp atom_name(<<118, len::16, name::binary-size(len), rest::binary>>), do: {name, :utf8, rest}
  defp atom_name(<<115, len, name::binary-size(len), rest::binary>>), do: {name, :latin1, rest}
  defp atom_name(<<100, len::16, name::binary-size(len), rest::binary>>), do: {name, :latin1, rest}
  defp atom_name(_), do: nil

  defp unknown(name, :utf8), do: {:unknown_atom, name}
  defp unknown(name, :latin1), do: {:unknown_atom, :unicode.characters_to_binary(name, :latin1)}

  defp known?(name, encoding) do
    _ = :erlang.binary_to_existing_atom(name, encoding)
    true
  rescue
    ArgumentError -> false
  end
end
