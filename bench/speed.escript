#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noinput
%%
%% Speed beside the one-way limit and ErlPort, in one run (bench/speed).
%%
%% "raw" is bench/raw_reply.py answering each request with a ready-made
%% reply frame of the same bytes the adapter answers it with; "erlport" is
%% ErlPort's python:call/4 (when ERLPORT names a built ErlPort checkout);
%% "snakeport" is the adapter over a bare Port.  The client side does what a
%% real client does: term_to_binary per request, binary_to_term(Bin, [safe])
%% per reply.  Each row alternates the systems for ?ROUNDS rounds (a fresh
%% process each time) and keeps each one's best; ratios are times over raw's.
%%
%% Usage: escript speed.escript PYTHON LAUNCHER RAW HELPERS ERLPORT_DIR|none LABEL
-mode(compile).
-define(ROUNDS, 3).

main([Python, Launcher, Raw, Helpers, ErlPort, Label]) ->
    ErlPort =/= "none" andalso code:add_patha(filename:join(ErlPort, "ebin")),
    Env = [{"PYTHONPATH", Helpers}],
    Ctx = #{python => Python, launcher => Launcher, raw => Raw, helpers => Helpers, env => Env,
            erlport => ErlPort =/= "none"},
    Blob = binary:copy(<<"x">>, 1000000),
    Rows = [
        {"operator.add(1, 2)", {operator, add, [1, 2]}, sync, 20000},
        {"math.sqrt(-1) (an exception)", {math, sqrt, [-1]}, sync, 5000},
        {"10,000 ints out", {bench_helpers, ints_10k, []}, sync, 500},
        {"100,000 floats out", {bench_helpers, floats_100k, []}, sync, 50},
        {"1 MB in (len)", {builtins, len, [Blob]}, sync, 300},
        {"1 MB out", {bench_helpers, blob_1mb, []}, sync, 300},
        {"64 in flight, per call", {operator, add, [1, 2]}, pipelined, 50000},
        {"start to first answer", {operator, add, [1, 2]}, startup, 10}
    ],
    Systems = [raw] ++ [erlport || maps:get(erlport, Ctx)] ++ [snakeport],
    io:format("~n### ~s (schedulers online: ~p)~n~n", [Label, erlang:system_info(schedulers_online)]),
    io:format("| per call | ~s | ~s |~n|---|~s|~s|~n",
              [lists:join(" | ", [atom_to_list(S) || S <- Systems]),
               lists:join(" | ", [atom_to_list(S) ++ " / raw" || S <- tl(Systems)]),
               lists:join("|", ["---" || _ <- Systems]), lists:join("|", ["---" || _ <- tl(Systems)])]),
    [row(Row, Systems, Ctx) || Row <- Rows],
    ok.

row({Name, {M, F, A} = Call, Kind, N}, Systems, Ctx0) ->
    Ctx = Ctx0#{reply => adapter_reply(request(M, F, A), Ctx0)},  % what raw answers with
    Results = [{S, measure(S, Kind, Call, N, Ctx)} || _ <- lists:seq(1, ?ROUNDS), S <- Systems],
    Best = fun(S) -> lists:min([T || {X, T} <- Results, X =:= S]) end,
    Times = [Best(S) || S <- Systems],
    RawT = hd(Times),
    io:format("| ~s | ~s | ~s |~n", [Name, lists:join(" | ", [show(T, Kind) || T <- Times]),
                                    lists:join(" | ", [io_lib:format("~.2fx", [T / RawT]) || T <- tl(Times)])]).

show(T, startup) -> io_lib:format("~.1f ms", [T / 1000]);
show(T, _) when T >= 1000 -> io_lib:format("~.2f ms", [T / 1000]);
show(T, _) -> io_lib:format("~.1f us", [T]).

%% Microseconds per call (startup: per start).
measure(erlport, Kind, {M, F, A}, N, Ctx) ->
    Start = fun() ->
                    {ok, P} = python:start([{python, maps:get(python, Ctx)},
                                            {python_path, maps:get(helpers, Ctx)}]),
                    P
            end,
    Call = fun(P) -> catch python:call(P, M, F, A) end,
    case Kind of
        startup -> median([timed(fun() -> P = Start(), Call(P), python:stop(P) end) || _ <- lists:seq(1, N)]);
        sync ->
            P = Start(),
            [Call(P) || _ <- lists:seq(1, max(N div 10, 3))],
            T = timed(fun() -> [Call(P) || _ <- lists:seq(1, N)] end),
            python:stop(P),
            T / N;
        pipelined ->
            P = Start(),
            Me = self(),
            Callers = 64,
            Each = N div Callers,
            T = timed(fun() ->
                              [spawn_link(fun() -> [Call(P) || _ <- lists:seq(1, Each)], Me ! done end)
                               || _ <- lists:seq(1, Callers)],
                              [receive done -> ok end || _ <- lists:seq(1, Callers)]
                      end),
            python:stop(P),
            T / (Each * Callers)
    end;
measure(System, Kind, {M, F, A}, N, Ctx) ->
    Request = request(M, F, A),
    case Kind of
        startup -> median([timed(fun() -> Port = open(System, Request, Ctx), call(Port, 1, Request), close(Port) end)
                           || _ <- lists:seq(1, N)]);
        sync ->
            Port = open(System, Request, Ctx),
            [call(Port, I, Request) || I <- lists:seq(1, max(N div 10, 3))],
            T = timed(fun() -> [call(Port, I, Request) || I <- lists:seq(1, N)] end),
            close(Port),
            T / N;
        pipelined ->
            Port = open(System, Request, Ctx),
            Window = 64,
            [send(Port, I, Request) || I <- lists:seq(1, Window)],
            T = timed(fun() -> pipe(Port, Request, Window + 1, N) end),
            [recv(Port) || _ <- lists:seq(1, Window)],
            close(Port),
            T / N
    end.

request(M, F, A) ->
    #{<<"call_type">> => <<"call">>, <<"python_module">> => atom_to_binary(M),
      <<"function">> => atom_to_binary(F), <<"args">> => A, <<"kwargs">> => #{},
      <<"session_id">> => <<"bench">>}.

%% The bytes the adapter answers Request with.
adapter_reply(Request, Ctx) ->
    Adapter = open(snakeport, Request, Ctx),
    send(Adapter, 1, Request),
    Reply = receive {Adapter, {data, Bin}} -> Bin end,
    close(Adapter),
    Reply.

%% The adapter; or the raw program, told first the reply bytes to answer with.
open(snakeport, _Request, Ctx) ->
    Port = port(maps:get(python, Ctx), [maps:get(launcher, Ctx)], Ctx),
    {ready, _} = recv(Port),
    Port;
open(raw, _Request, Ctx) ->
    Port = port(maps:get(python, Ctx), [maps:get(raw, Ctx)], Ctx),
    port_command(Port, maps:get(reply, Ctx)),
    Port.

port(Python, Args, Ctx) ->
    Env = [{K, V} || {K, V} <- maps:get(env, Ctx)],
    open_port({spawn_executable, Python}, [{packet, 4}, binary, exit_status, {args, Args}, {env, Env}]).

close(Port) -> port_close(Port).

send(Port, Id, Request) -> port_command(Port, term_to_binary({call, Id, Request})).

recv(Port) ->
    receive {Port, {data, Bin}} -> binary_to_term(Bin, [safe])
    after 60000 -> error({no_reply, Port})
    end.

call(Port, Id, Request) -> send(Port, Id, Request), recv(Port).

pipe(_Port, _Request, _Next, 0) -> ok;
pipe(Port, Request, Next, Left) ->
    recv(Port),
    send(Port, Next, Request),
    pipe(Port, Request, Next + 1, Left - 1).

timed(Fun) ->
    T0 = erlang:monotonic_time(),
    Fun(),
    erlang:convert_time_unit(erlang:monotonic_time() - T0, native, nanosecond) / 1000.

median(Values) -> lists:nth((length(Values) + 1) div 2, lists:sort(Values)).
