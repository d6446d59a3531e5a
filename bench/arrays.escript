#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noinput
%%
%% Arrays as tensors over a bare Port, in one run: each row times two requests
%% to the same adapter (best of ?ROUNDS alternating rounds) and prints their
%% ratio.  Every reply is decoded with binary_to_term(Bin, [safe]).
%%
%% Usage: escript arrays.escript PYTHON LAUNCHER HELPERS LABEL
-mode(compile).
-define(ROUNDS, 3).

main([Python, Launcher, Helpers, Label]) ->
    Port = open_port({spawn_executable, Python}, [{packet, 4}, binary, exit_status,
                                                  {args, [Launcher]}, {env, [{"PYTHONPATH", Helpers}]}]),
    {ready, _} = recv(Port),
    Call = fun(F, Extra) -> maps:merge(#{<<"python_module">> => <<"bench_helpers">>, <<"function">> => F,
                                         <<"args">> => [], <<"session_id">> => <<"bench">>}, Extra) end,
    Tensor = #{<<"arrays">> => <<"tensor">>},
    Blob = binary:copy(<<0, 0, 128, 63>>, 25 * 1024 * 1024),  % float32 1.0s: no UTF-8 text, they stay bytes
    io:format("~n### ~s (schedulers online: ~p)~n~n", [Label, erlang:system_info(schedulers_online)]),
    io:format("| measurement | baseline | measured | ratio (time) | target |~n|---|---|---|---|---|~n"),
    row(Port, "100 MB out: bytes (baseline) vs a float32 array as a tensor",
        Call(<<"bytes_100mb">>, #{}), Call(<<"array_100mb">>, Tensor), 5, "<= 1.3x"),
    row(Port, "1M floats out: tolist() (baseline) vs a tensor",
        Call(<<"floats_1m_list">>, #{}), Call(<<"floats_1m">>, Tensor), 5, "> 20x faster"),
    TensorArg = #{<<"__type__">> => <<"tensor">>, <<"dtype">> => <<"f32">>, <<"shape">> => {25 * 1024 * 1024},
                  <<"data">> => Blob},
    BytesArg = #{<<"__type__">> => <<"bytes">>, <<"data">> => Blob},
    row(Port, "100 MB in: bytes into len (baseline) vs a tensor into numpy.sum",
        #{<<"python_module">> => <<"builtins">>, <<"function">> => <<"len">>, <<"args">> => [BytesArg]},
        #{<<"python_module">> => <<"numpy">>, <<"function">> => <<"sum">>, <<"args">> => [TensorArg]}, 5,
        "<= 1.3x"),
    port_close(Port).

row(Port, Name, Base, Other, N, Target) ->
    [call(Port, R) || R <- [Base, Other]],  % warm: arrays made, numpy imported
    Results = [{W, timed(Port, R, N)} || _ <- lists:seq(1, ?ROUNDS), {W, R} <- [{base, Base}, {other, Other}]],
    Best = fun(W) -> lists:min([T || {X, T} <- Results, X =:= W]) end,
    B = Best(base), O = Best(other),
    Verdict = case Target of
                  "<= 1.3x" when O / B =< 1.3 -> "<= 1.3x: met";
                  "<= 1.3x" -> "<= 1.3x: NOT met";
                  _ when B / O > 20 -> "> 20x faster: met";
                  _ -> "> 20x faster: NOT met"
              end,
    io:format("| ~s | ~.1f ms | ~.1f ms | ~.2fx | ~s |~n", [Name, B, O, O / B, Verdict]).

timed(Port, Request, N) ->
    T0 = erlang:monotonic_time(),
    [call(Port, Request) || _ <- lists:seq(1, N)],
    erlang:convert_time_unit(erlang:monotonic_time() - T0, native, microsecond) / N / 1000.

call(Port, Request) ->
    port_command(Port, term_to_binary({call, 1, Request})),
    {reply, 1, {ok, _}} = recv(Port).

recv(Port) -> receive {Port, {data, Bin}} -> binary_to_term(Bin, [safe]) after 120000 -> exit(timeout) end.
