#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noinput
%%
%% Concurrency inside one adapter, in one run: each row measures two
%% configurations of the same adapter (a fresh Port each time, best of
%% ?ROUNDS alternating rounds) and prints their ratio.
%%
%% Usage: escript concurrency.escript PYTHON LAUNCHER HELPER_DIR NUMPY(yes|no) LABEL
-mode(compile).
-define(ROUNDS, 3).

main([Python, Launcher, Helpers, Numpy, Label]) ->
    Adapter = fun(Extra) -> {Python, [Launcher, "--helper-path", Helpers | Extra]} end,
    io:format("~n### ~s (schedulers online: ~p)~n~n", [Label, erlang:system_info(schedulers_online)]),
    io:format("| measurement | baseline | measured | ratio (time) | target |~n|---|---|---|---|---|~n"),
    row("small call: idle (baseline) vs while a 60 s call runs", us,
        fun() -> small_calls(Adapter([]), none, 5000) end,
        fun() -> small_calls(Adapter([]), long, 5000) end, 2.0),
    row("16 x time.sleep(0.25), threads on: one sleep (baseline) vs all 16", ms,
        fun() -> sleeps(Adapter([]), 1) end,
        fun() -> sleeps(Adapter([]), 16) end, 2.0),
    case Numpy of
        "yes" ->
            row("16 numpy 400x400 matmuls: --threads 1 (baseline) vs --threads 2", ms,
                fun() -> matmuls(Adapter(["--threads", "1"]), 16) end,
                fun() -> matmuls(Adapter(["--threads", "2"]), 16) end, none);
        _ -> io:format("| 16 numpy matmuls | - | - | numpy not installed | - |~n")
    end,
    row("sync operator.add(1, 2): --threads 1 (baseline) vs threads on (default)", us,
        fun() -> small_calls(Adapter(["--threads", "1"]), none, 20000) end,
        fun() -> small_calls(Adapter([]), none, 20000) end, 1.05).

row(Name, Unit, Base, Other, Target) ->
    Results = [{Which, Fun()} || _ <- lists:seq(1, ?ROUNDS), {Which, Fun} <- [{base, Base}, {other, Other}]],
    Best = fun(W) -> lists:min([V || {S, V} <- Results, S =:= W]) end,
    B = Best(base), O = Best(other), Ratio = O / B,
    Show = fun(V) -> case Unit of us -> io_lib:format("~.1f us", [float(V)]); ms -> io_lib:format("~B ms", [round(V)]) end end,
    Verdict = case Target of none -> "-";
                  _ when Ratio =< Target -> io_lib:format("<= ~.2fx: met", [Target]);
                  _ -> io_lib:format("<= ~.2fx: NOT met", [Target]) end,
    io:format("| ~s | ~s | ~s | ~.2fx | ~s |~n", [Name, Show(B), Show(O), Ratio, Verdict]).

open({Python, Args}) ->
    Port = open_port({spawn_executable, Python}, [{packet, 4}, binary, exit_status, {args, Args}]),
    {ready, _} = recv(Port),
    Port.

recv(Port) -> receive {Port, {data, Bin}} -> binary_to_term(Bin, [safe]) after 120000 -> exit(timeout) end.

call(Port, Id, Req) -> port_command(Port, term_to_binary({call, Id, Req})).

helper(Name, Args) -> #{<<"call_type">> => <<"helper">>, <<"helper">> => Name, <<"args">> => Args}.

add() -> #{<<"python_module">> => <<"operator">>, <<"function">> => <<"add">>, <<"args">> => [1, 2]}.

%% Mean time of N sync small calls (us), optionally while a long call runs.
small_calls(Side, Long, N) ->
    Port = open(Side),
    case Long of
        long -> call(Port, 0, helper(<<"bench.sleep">>, [60])), timer:sleep(50);
        none -> ok
    end,
    [begin call(Port, I, add()), {reply, I, {ok, 3}} = recv(Port) end || I <- lists:seq(1, 1000)],
    T0 = erlang:monotonic_time(nanosecond),
    [begin call(Port, I, add()), {reply, I, {ok, 3}} = recv(Port) end || I <- lists:seq(1001, 1000 + N)],
    T1 = erlang:monotonic_time(nanosecond),
    port_close(Port),
    (T1 - T0) / N / 1000.

%% Wall time (ms) for K concurrent sleeps of 0.25 s.
sleeps(Side, K) ->
    Port = open(Side),
    T0 = erlang:monotonic_time(millisecond),
    [call(Port, I, helper(<<"bench.sleep">>, [0.25])) || I <- lists:seq(1, K)],
    [{reply, _, {ok, _}} = recv(Port) || _ <- lists:seq(1, K)],
    T1 = erlang:monotonic_time(millisecond),
    port_close(Port),
    T1 - T0.

matmuls(Side, K) ->
    Port = open(Side),
    call(Port, 0, helper(<<"bench.matmul">>, [400])), {reply, 0, {ok, _}} = recv(Port),  % warm: numpy imported
    T0 = erlang:monotonic_time(millisecond),
    [call(Port, I, helper(<<"bench.matmul">>, [400])) || I <- lists:seq(1, K)],
    [{reply, _, {ok, _}} = recv(Port) || _ <- lists:seq(1, K)],
    T1 = erlang:monotonic_time(millisecond),
    port_close(Port),
    T1 - T0.
