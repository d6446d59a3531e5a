#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noinput
%%
%% The BEAM side of the live codec round trip (tests/test_live_beam.py).
%% Speaks {packet, 4} on its stdin/stdout; every request is a term Python
%% encoded, every reply a term this VM encoded.
%%
%%   {check, Id, Frame, Source}
%%       Frame is Python's encoding of a value, Source the same value written
%%       as Erlang source text by a test-only printer.  Replies
%%       {checked, Id, Verdict, Back}: Verdict is true when
%%       binary_to_term(Frame) =:= the evaluated Source, else {false, Why};
%%       Back is term_to_binary of the evaluated Source (options rotate), for
%%       Python to decode.
%%   {random, Seed, Size}
%%       Replies {random, Seed, term_to_binary(T, Opts)} for a random term T.
%%   {verify, Seed, Size, Frame}
%%       Regenerates T and replies {verified, Seed, Verdict}, Verdict true
%%       when binary_to_term(Frame) =:= T.
-mode(compile).

main(_) ->
    %% One ref for all random terms, so a seed always gives the same term.
    put(ref, make_ref()),
    Port = open_port({fd, 0, 1}, [{packet, 4}, binary, eof]),
    loop(Port).

loop(Port) ->
    receive
        {Port, {data, Bin}} ->
            Reply = try handle(binary_to_term(Bin))
                    catch Class:Reason:Stack ->
                            {crashed, iolist_to_binary(io_lib:format("~p:~p ~p", [Class, Reason, Stack]))}
                    end,
            port_command(Port, term_to_binary(Reply)),
            loop(Port);
        {Port, eof} ->
            halt(0)
    end.

handle({check, Id, Frame, Source}) ->
    Expected = eval(Source),
    Verdict = case catch binary_to_term(Frame) of
                  {'EXIT', Why} -> {false, fmt("binary_to_term failed: ~p", [Why])};
                  Expected -> true;
                  Other -> {false, fmt("decoded ~w~nexpected ~w", [Other, Expected])}
              end,
    {checked, Id, Verdict, term_to_binary(Expected, opts(Id))};
handle({random, Seed, Size}) ->
    {random, Seed, term_to_binary(random_term(Seed, Size), opts(Seed))};
handle({verify, Seed, Size, Frame}) ->
    Expected = random_term(Seed, Size),
    Verdict = case catch binary_to_term(Frame) of
                  Expected -> true;
                  {'EXIT', Why} -> {false, fmt("binary_to_term failed: ~p", [Why])};
                  Other -> {false, fmt("got ~w~nexpected ~w", [Other, Expected])}
              end,
    {verified, Seed, Verdict}.

opts(N) ->
    element(N rem 4 + 1, {[], [{minor_version, 2}], [compressed], [{minor_version, 1}, {compressed, 1}]}).

fmt(Format, Args) -> iolist_to_binary(io_lib:format(Format, Args)).

eval(Source) ->
    {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Source)),
    {ok, [Expr]} = erl_parse:parse_exprs(Tokens),
    {value, Value, _} = erl_eval:expr(Expr, []),
    Value.

%% -------------------------------------------------------- random terms

random_term(Seed, Size) ->
    rand:seed(exsss, {Seed, Seed * 7 + 1, Size}),
    term(Size).

term(Size) when Size =< 1 -> leaf();
term(Size) ->
    case rand:uniform(7) of
        1 -> leaf();
        2 -> [term(Size div 3) || _ <- lists:seq(1, rand:uniform(4) - 1)];
        3 -> list_to_tuple([term(Size div 3) || _ <- lists:seq(1, rand:uniform(4) - 1)]);
        4 -> maps:from_list([{key(Size div 4), term(Size div 3)} || _ <- lists:seq(1, rand:uniform(4) - 1)]);
        5 -> improper(Size);
        6 -> numbers();
        7 -> #{<<"call_type">> => <<"call">>, <<"args">> => [term(Size div 2)], <<"kwargs">> => #{}}
    end.

improper(Size) ->
    Elems = [term(Size div 3) || _ <- lists:seq(1, rand:uniform(3))],
    Tail = case rand:uniform(3) of 1 -> leaf(); 2 -> {}; 3 -> <<"tail">> end,
    case is_list(Tail) of true -> Elems; false -> Elems ++ Tail end.

numbers() ->
    N = rand:uniform(40),
    case rand:uniform(4) of
        1 -> [rand:uniform(255) || _ <- lists:seq(1, N)];
        2 -> [rand:uniform(1 bsl 40) - (1 bsl 39) || _ <- lists:seq(1, N)];
        3 -> [rand:uniform() * 1.0e6 - 5.0e5 || _ <- lists:seq(1, N)];
        4 -> [rand:uniform(3000) || _ <- lists:seq(1, N)]
    end.

%% Map keys: no floats, so that 1 and 1.0 never collide; a few atoms that
%% may collide with binaries (the decoder must say so).
key(Size) ->
    case rand:uniform(6) of
        1 -> rand:uniform(1000);
        2 -> list_to_binary([$a + rand:uniform(3)]);
        3 -> element(rand:uniform(3), {alpha, beta, 'ünï'});
        4 -> [rand:uniform(5) || _ <- lists:seq(1, rand:uniform(3))];
        5 -> {rand:uniform(10), key(Size div 2)};
        6 -> #{k => rand:uniform(3)}
    end.

leaf() ->
    case rand:uniform(17) of
        1 -> rand:uniform(256) - 1;
        2 -> rand:uniform(1 bsl 31) - (1 bsl 30);
        3 -> (rand:uniform(1 bsl 200) - (1 bsl 199)) * rand:uniform(1 bsl 64);
        4 -> rand:uniform() * math:pow(10, rand:uniform(300) - 150) * (rand:uniform(2) * 2 - 3);
        5 -> element(rand:uniform(8), {ok, error, nil, true, false, undefined, 'Elixir.Foo', 'café_λ'});
        6 -> list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(12))]);
        7 -> unicode:characters_to_binary([rand:uniform(16#2FFF) || _ <- lists:seq(1, rand:uniform(8))]);
        8 -> <<"text">>;
        9 -> [];
        10 -> "charlist";
        11 -> <<(rand:uniform(255)), (rand:uniform(127)):7>>;
        12 -> self();
        13 -> get(ref);
        14 -> hd(erlang:ports());
        15 -> fun lists:reverse/1;
        16 -> X = rand:uniform(100), fun(Y) -> X + Y end;
        17 -> {}
    end.
