#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noshell
%%
%% Writes tests/golden/vectors.tsv: golden ETF vectors made by the real BEAM.
%%
%% Each line: Name <TAB> Variant <TAB> hex of the bytes <TAB> Python expression
%% of the value they must decode to (or "DecodeError").  Variants:
%%   v1  term_to_binary(T)                       (OTP 25 default, latin-1 atoms)
%%   v2  term_to_binary(T, [{minor_version, 2}])  (OTP 26+ default, UTF-8 atoms)
%%   z   term_to_binary(T, [compressed])
%%   z2  term_to_binary(T, [{compressed, 9}, {minor_version, 2}])
%%   v0  term_to_binary(T, [{minor_version, 0}])  (floats only: FLOAT_EXT)
%%   raw hand-written bytes for encodings OTP accepts but does not emit by
%%       default; each is checked with binary_to_term first.
%% The Python expression is written by this script from the Erlang term, not
%% by SnakePort's encoder.  Usage: escript gen_vectors.escript OUT.tsv
-mode(compile).

main([Out]) ->
    {ok, F} = file:open(Out, [write, {encoding, latin1}]),
    io:format(F, "# golden ETF vectors made by ~s on OTP ~s; do not edit, regenerate~n",
              [?FILE, erlang:system_info(otp_release)]),
    lists:foreach(fun({Name, T}) -> emit_variants(F, Name, T, py(T));
                     ({Name, T, Py}) -> emit_variants(F, Name, T, Py)
                  end, terms()),
    lists:foreach(fun({Name, T}) ->
                          emit(F, Name, "v0", term_to_binary(T, [{minor_version, 0}]), py(T))
                  end, floats()),
    lists:foreach(fun({Name, Bin, Py}) ->
                          T = binary_to_term(Bin),  % must be accepted by the VM
                          Expected = case Py of auto -> py_raw(T, Bin); _ -> Py end,
                          emit(F, Name, "raw", Bin, Expected)
                  end, raw()),
    ok = file:close(F).

emit_variants(F, Name, T, Py) ->
    Variants = [{"v1", []}, {"v2", [{minor_version, 2}]}, {"z", [compressed]},
                {"z2", [{compressed, 9}, {minor_version, 2}]}],
    lists:foreach(
      fun({V, Opts}) ->
              Expected = case Py of
                             {opaque, Fun} -> Fun(plain(Opts));
                             _ -> Py
                         end,
              emit(F, Name, V, term_to_binary(T, Opts), Expected)
      end, Variants).

plain(Opts) -> [O || O = {minor_version, _} <- Opts].

emit(F, Name, Variant, Bin, Py) ->
    io:format(F, "~s\t~s\t~s\t~s~n", [Name, Variant, hex(Bin), lists:flatten(Py)]).

hex(Bin) -> [io_lib:format("~2.16.0b", [B]) || <<B>> <= Bin].

%% ---------------------------------------------------------------- the terms

terms() ->
    Ints = [0, 1, 42, 127, 128, 255, 256, 1000, -1, -128, -129, -256,
            2147483647, -2147483648, 2147483648, -2147483649,
            4294967295, 4294967296, 9223372036854775807, -9223372036854775808,
            9223372036854775808, 18446744073709551615, 18446744073709551616,
            -18446744073709551616, 1 bsl 100, -(1 bsl 100), 1 bsl 2040, 1 bsl 2048,
            -(1 bsl 2048) + 1, (1 bsl 4096) - 1],
    Atoms = [ok, error, undefined, 'Elixir.Foo.Bar', '', 'hello world', 'café',
             'ünïcödé', 'λx', '日本語', '🐍', list_to_atom(lists:duplicate(255, $a)),
             list_to_atom(lists:duplicate(255, 16#1F40D)), 'with\'quote', 'tab\tnl\n',
             true, false, nil, infinity, neg_infinity],
    Bins = [<<>>, <<"call">>, <<"héllo ✓"/utf8>>, <<255>>, <<0, 1, 2, 255>>,
            <<"abc", 128>>, <<237, 160, 128>>, <<192, 128>>, binary:copy(<<"x">>, 70000),
            list_to_binary(lists:seq(0, 255)), <<0>>],
    Bits = [<<1:1>>, <<255, 3:3>>, <<1, 2, 3, 127:7>>, <<0:7>>, <<16#AB, 5:4>>],
    Lists = [[], [16], [1, 2, 3], "abc", "héllo", lists:seq(1, 300), lists:seq(0, 255),
             lists:seq(1, 10000), [256, 1000], [-1, 2], [a, b, c], [[], [[]]],
             [1.5, 2.5], [1, 2.0, <<"x">>, y], lists:duplicate(20, 1.25),
             [lists:seq(1, 40), [1.0, -2.0, 3.5]], lists:seq(-20, 20),
             [1 | 2], [a, b | c], [1 | <<"t">>], [[1] | [2 | 3]],
             [1, 2, 3 | 4.5], [{} | {}]],
    Tuples = [{}, {1}, {ok, 1}, {error, <<"why">>}, {1, {2, {3, {}}}},
              list_to_tuple(lists:seq(1, 255)), list_to_tuple(lists:seq(1, 256)),
              list_to_tuple(lists:seq(1, 300)), {[], #{}, <<>>}],
    Maps = [#{}, #{a => 1}, #{<<"call_type">> => <<"call">>, <<"python_module">> => <<"math">>,
                           <<"function">> => <<"sqrt">>, <<"args">> => [16],
                           <<"kwargs">> => #{}, <<"session_id">> => <<"s1">>},
            maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]),
            maps:from_list([{integer_to_binary(I), I} || I <- lists:seq(1, 33)]),
            #{1 => one, 2.5 => two, {t, 1} => three, <<"b">> => four, [1, 2] => five,
              #{k => v} => six, [] => seven, "str" => eight},
            #{#{#{a => [1, #{}]} => 1} => #{}},
            #{{#{a => 1}} => x},
            #{nested => #{deeper => #{deepest => [1, 2, #{}]}}}],
    Floats = [F || {_, F} <- floats()],
    Pids = [self(), spawn(fun() -> ok end)],
    Refs = [make_ref(), alias(), erlang:monitor(process, self())],
    Ports = [hd(erlang:ports())],
    Y = 7,
    Funs = [fun lists:map/2, fun erlang:'+'/2, fun() -> ok end, fun(X) -> X + Y end,
            fun(A, B, C) -> {A, B, C, Y} end],
    Structs = [
        {"mapset", #{'__struct__' => 'Elixir.MapSet', map => #{1 => [], <<"a">> => []}, version => 2},
         "{1, 'a'}"},
        {"mapset_empty", #{'__struct__' => 'Elixir.MapSet', map => #{}, version => 2}, "set()"},
        {"date", #{'__struct__' => 'Elixir.Date', calendar => 'Elixir.Calendar.ISO',
                   year => 2026, month => 11, day => 21}, "datetime.date(2026, 11, 21)"},
        {"time", #{'__struct__' => 'Elixir.Time', calendar => 'Elixir.Calendar.ISO', hour => 13,
                   minute => 5, second => 9, microsecond => {123456, 6}},
         "datetime.time(13, 5, 9, 123456)"},
        {"naive_datetime", #{'__struct__' => 'Elixir.NaiveDateTime', calendar => 'Elixir.Calendar.ISO',
                             year => 2026, month => 1, day => 2, hour => 3, minute => 4, second => 5,
                             microsecond => {0, 0}},
         "datetime.datetime(2026, 1, 2, 3, 4, 5)"},
        {"datetime_utc", #{'__struct__' => 'Elixir.DateTime', calendar => 'Elixir.Calendar.ISO',
                           year => 2026, month => 1, day => 2, hour => 3, minute => 4, second => 5,
                           microsecond => {7, 6}, time_zone => <<"Etc/UTC">>, zone_abbr => <<"UTC">>,
                           utc_offset => 0, std_offset => 0},
         "datetime.datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=datetime.timezone.utc)"},
        {"unknown_struct", #{'__struct__' => 'Elixir.URI', host => <<"h">>},
         "{Atom('__struct__'): Atom('Elixir.URI'), Atom('host'): 'h'}"},
        {"tagged_bytes", #{<<"__type__">> => <<"bytes">>, <<"data">> => <<"abc">>}, "b'abc'"},
        {"tagged_bytes_raw", #{<<"__type__">> => <<"bytes">>, <<"data">> => <<255, 0>>}, "b'\\xff\\x00'"},
        {"tagged_tuple", #{<<"__type__">> => <<"tuple">>, <<"elements">> => [1, <<"a">>]}, "(1, 'a')"},
        {"tagged_set", #{<<"__type__">> => <<"set">>, <<"elements">> => [1, [2, 3]]},
         "{1, HashableList([2, 3])}"},
        {"tagged_frozenset", #{<<"__type__">> => <<"frozenset">>, <<"elements">> => [1]}, "frozenset({1})"},
        {"tagged_atom", #{<<"__type__">> => <<"atom">>, <<"value">> => <<"ok">>}, "Atom('ok')"},
        {"tagged_complex", #{<<"__type__">> => <<"complex">>, <<"real">> => 1.5, <<"imag">> => -2.0},
         "complex(1.5, -2.0)"},
        {"tagged_datetime", #{<<"__type__">> => <<"datetime">>, <<"value">> => <<"2026-11-21T10:00:00Z">>},
         "datetime.datetime(2026, 11, 21, 10, 0, tzinfo=datetime.timezone.utc)"},
        {"tagged_date", #{<<"__type__">> => <<"date">>, <<"value">> => <<"2026-11-21">>},
         "datetime.date(2026, 11, 21)"},
        {"tagged_time", #{<<"__type__">> => <<"time">>, <<"value">> => <<"10:11:12.5">>},
         "datetime.time(10, 11, 12, 500000)"},
        {"tagged_special_float", #{<<"__type__">> => <<"special_float">>, <<"value">> => <<"neg_infinity">>},
         "-math.inf"},
        {"tagged_dict", #{<<"__type__">> => <<"dict">>, <<"pairs">> => [[[1, 2], a], [3, b]]},
         "{HashableList([1, 2]): Atom('a'), 3: Atom('b')}"},
        {"tagged_ref_untouched", #{<<"__type__">> => <<"ref">>, <<"id">> => <<"abc">>,
                                   <<"session_id">> => <<"s">>},
         "{'__type__': 'ref', 'id': 'abc', 'session_id': 's'}"},
        {"tagged_unknown_untouched", #{<<"__type__">> => <<"mystery">>}, "{'__type__': 'mystery'}"},
        {"collide_int_float", #{1 => a, 1.0 => b}, "DecodeError"},
        {"collide_atom_binary", #{a => 1, <<"a">> => 2}, "{Atom('a'): 1, b'a': 2}"},
        {"collide_true_one", #{true => 1, 1 => 2}, "DecodeError"},
        {"collide_tagged_date", #{<<"__type__">> => <<"date">>, <<"value">> => <<"garbage">>}, "DecodeError"}
    ],
    Named = fun(Prefix, L) ->
                    [{Prefix ++ "_" ++ integer_to_list(I), T}
                     || {I, T} <- lists:zip(lists:seq(1, length(L)), L)]
            end,
    Opaque = fun(Prefix, L) ->
                     [{Name, T, {opaque, fun(Opts) -> py_opaque(T, Opts) end}}
                      || {Name, T} <- Named(Prefix, L)]
             end,
    Named("int", Ints) ++ Named("atom", Atoms) ++ Named("binary", Bins) ++ Named("bits", Bits)
        ++ Named("list", Lists) ++ Named("tuple", Tuples) ++ Named("map", Maps)
        ++ Named("float", Floats)
        ++ Opaque("pid", Pids) ++ Opaque("ref", Refs) ++ Opaque("port", Ports) ++ Opaque("fun", Funs)
        ++ [{"from_tuple", {hd(Pids), hd(Refs)},
             {opaque, fun(Opts) -> ["(", py_opaque(hd(Pids), Opts), ", ",
                                    py_opaque(hd(Refs), Opts), ")"] end}},
            {"pid_in_map", #{pid => hd(Pids), <<"r">> => [hd(Refs)]},
             {opaque, fun(Opts) -> ["{Atom('pid'): ", py_opaque(hd(Pids), Opts), ", 'r': [",
                                    py_opaque(hd(Refs), Opts), "]}"] end}}]
        ++ Structs.

floats() ->
    L = [0.0, -0.0, 1.0, -1.5, 0.1, 3.141592653589793, 1.0e308, -1.0e308, 5.0e-324,
         2.2250738585072014e-308, 1.0e16, 123456789.125, 1.0e-10],
    [{"f_" ++ integer_to_list(I), F} || {I, F} <- lists:zip(lists:seq(1, length(L)), L)].

%% Encodings OTP accepts but term_to_binary does not produce by default.
raw() ->
    Node = <<119, 13, "nonode@nohost">>,          % SMALL_ATOM_UTF8
    NodeL = <<100, 0, 13, "nonode@nohost">>,      % ATOM_EXT
    Remote = <<119, 10, "other@host">>,
    [{"small_atom_ext", <<131, 115, 2, "ok">>, "Atom('ok')"},
     {"small_atom_ext_latin1", <<131, 115, 4, "caf", 233>>, "Atom('caf\\xe9')"},
     {"atom_ext_true", <<131, 100, 0, 4, "true">>, "True"},
     {"atom_utf8_ext_long_form", <<131, 118, 0, 2, "ok">>, "Atom('ok')"},
     {"float_ext_hand", <<131, 99, "1.50000000000000000000e+00", 0, 0, 0, 0, 0>>, "1.5"},
     {"v4_port", <<131, 120, Node/binary, 0, 0, 0, 1, 0, 0, 0, 42, 0, 0, 0, 7>>, auto},
     {"new_port_remote", <<131, 89, Remote/binary, 0, 0, 0, 9, 0, 0, 0, 3>>, auto},
     {"port_ext_old", <<131, 102, NodeL/binary, 0, 0, 0, 5, 0>>, auto},
     {"new_pid_remote", <<131, 88, Remote/binary, 0, 0, 0, 77, 0, 0, 0, 0, 0, 0, 0, 5>>, auto},
     {"pid_ext_old", <<131, 103, NodeL/binary, 0, 0, 0, 77, 0, 0, 0, 0, 0>>, auto},
     {"newer_ref_3", <<131, 90, 0, 3, Remote/binary, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3>>, auto},
     {"newer_ref_5", <<131, 90, 0, 5, Remote/binary, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2,
                       0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5>>, auto},
     {"new_ref_old", <<131, 114, 0, 3, NodeL/binary, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3>>, auto},
     {"list_ext_of_small_ints", <<131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106>>, "[1, 2]"},
     {"list_ext_empty_tail_list", <<131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106>>,
      "[1, 2]"},
     {"string_ext_empty", <<131, 107, 0, 0>>, "[]"},
     {"small_big_small_value", <<131, 110, 1, 0, 5>>, "5"},
     {"large_tuple_small", <<131, 105, 0, 0, 0, 2, 97, 1, 97, 2>>, "(1, 2)"},
     {"map_key_order", <<131, 116, 0, 0, 0, 2, 100, 0, 1, "b", 97, 2, 100, 0, 1, "a", 97, 1>>,
      "{Atom('a'): 1, Atom('b'): 2}"}].

%% ------------------------------------------------- Erlang term -> Python text

py(true) -> "True";
py(false) -> "False";
py(nil) -> "None";
py(infinity) -> "math.inf";
py(neg_infinity) -> "-math.inf";
py(nan) -> "math.nan";
py(T) -> py(T, value).

py(I, _) when is_integer(I) -> integer_to_list(I);
py(F, _) when is_float(F) -> ["float('", float_to_list(F, [short]), "')"];
py(A, Ctx) when is_atom(A) ->
    case lists:member(A, [true, false, nil, infinity, neg_infinity, nan]) of
        true when Ctx =:= value; Ctx =:= key -> py(A);
        _ -> ["Atom(", py_text(atom_to_binary(A, utf8)), ")"]
    end;
py(B, _) when is_binary(B) ->
    case unicode:characters_to_binary(B) of
        B -> py_text(B);
        _ -> ["bytes.fromhex('", hex(B), "')"]
    end;
py(B, _) when is_bitstring(B) ->
    Bits = bit_size(B) rem 8,
    Pad = 8 - Bits,
    ["BitString(bytes.fromhex('", hex(<<B/bitstring, 0:Pad>>), "'), ", integer_to_list(Bits), ")"];
py([], value) -> "[]";
py([], key) -> "HashableList([])";
py(L, Ctx) when is_list(L) ->
    {Elems, Tail} = split_list(L, []),
    Inner = join([py(E, Ctx) || E <- Elems]),
    case Tail of
        [] when Ctx =:= key -> ["HashableList([", Inner, "])"];
        [] -> ["[", Inner, "]"];
        _ -> ["ImproperList([", Inner, "], ", py(Tail, Ctx), ")"]
    end;
py(T, Ctx) when is_tuple(T) ->
    case tuple_size(T) of
        0 -> "()";
        _ -> ["(", [[py(E, Ctx), ", "] || E <- tuple_to_list(T)], ")"]
    end;
py(M, Ctx) when is_map(M) ->
    Pairs = join([[py(K, key), ": ", py(V, Ctx)] || {K, V} <- maps:to_list(M)]),
    case Ctx of
        key -> ["FrozenMap({", Pairs, "})"];
        value -> ["{", Pairs, "}"]
    end.

py_text(B) -> ["bytes.fromhex('", hex(B), "').decode()"].

py_opaque(T, Opts) ->
    <<131, Raw/binary>> = term_to_binary(T, Opts),
    py_raw(T, <<131, Raw/binary>>).

py_raw(T, <<131, Raw/binary>>) ->
    Class = if is_pid(T) -> "Pid"; is_port(T) -> "Port"; is_reference(T) -> "Reference";
               is_function(T) -> "Fun"
            end,
    [Class, "(bytes.fromhex('", hex(Raw), "'))"].

split_list([H | T], Acc) -> split_list(T, [H | Acc]);
split_list(Tail, Acc) -> {lists:reverse(Acc), Tail}.

join([]) -> [];
join([H | T]) -> [H | [[", ", X] || X <- T]].
