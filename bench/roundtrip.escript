#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noinput
%%
%% Port round trips: the SnakePort adapter beside the raw echo, in one run.
%% Each measurement alternates raw and adapter for ?ROUNDS rounds (a fresh
%% Port each time) and keeps each side's best; the ratio is adapter time
%% over raw time.  The client side does what a real client does: builds the
%% request with term_to_binary and decodes every reply with binary_to_term.
%%
%% A second table prices recording: the adapter with --record FILE beside
%% the adapter without it (target: at most 1.2x the time).
%%
%% Usage: escript roundtrip.escript PYTHON LAUNCHER RAW_ECHO HELPER_DIR LABEL
-mode(compile).
-define(ROUNDS, 3).

main([Python, Launcher, Raw, Helpers, Label]) ->
    Record = filename:join(os:getenv("TMPDIR", "/tmp"), "snakeport_bench_" ++ os:getpid() ++ ".frames"),
    Sides = #{raw => {Python, [Raw]},
              adapter => {Python, [Launcher, "--helper-path", Helpers]},
              recording => {Python, [Launcher, "--helper-path", Helpers, "--record", Record]}},
    %% Starts are timed without the bench's helper folder, whose import builds
    %% the 100,000-float and 1 MB results the other rows send.
    Bare = Sides#{adapter => {Python, [Launcher]}},
    Blob = rand:bytes(1 bsl 20),
    Tests = [
        {"sync operator.add(1, 2)", calls_per_s, fun(Side, P) -> sync(Side, P, add(), 20000) end, 1.3},
        {"1 MB binary in (len)", calls_per_s, fun(Side, P) -> sync(Side, P, req(<<"builtins">>, <<"len">>, [Blob]), 200) end, 1.3},
        {"1 MB bytes out (helper)", calls_per_s, fun(Side, P) -> sync_out(Side, P, helper(<<"bench.blob_1mb">>), Blob, 200) end, 1.3},
        {"1 MB in and out (copy.copy)", calls_per_s, fun(Side, P) -> sync(Side, P, req(<<"copy">>, <<"copy">>, [Blob]), 200) end, 1.3},
        {"10,000-int list out (helper)", calls_per_s, fun(Side, P) -> sync_out(Side, P, helper(<<"bench.ints_10k">>), lists:seq(0, 9999), 500) end, none},
        {"pipelined add, 64 in flight", calls_per_s, fun(Side, P) -> pipelined(Side, P, add(), 64, 50000) end, none},
        {"spawn to ready", ms, fun(Side, _) -> startup(Side, Bare) end, 1.5}
    ],
    io:format("~n### ~s (schedulers online: ~p)~n~n", [Label, erlang:system_info(schedulers_online)]),
    io:format("| measurement | raw echo | adapter | adapter / raw (time) | target |~n|---|---|---|---|---|~n"),
    lists:foreach(fun(Test) -> run(Test, Sides, raw, adapter) end, Tests),
    io:format("~n| measurement | recording off | recording on (--record) | on / off (time) | target |~n"
              "|---|---|---|---|---|~n"),
    run({"sync operator.add(1, 2)", calls_per_s, fun(Side, P) -> sync(Side, P, add(), 20000) end, 1.2},
        Sides, adapter, recording),
    file:delete(Record).

run({Name, Unit, Fun, Target}, Sides, Base, Other) ->
    Results = [{Side, Fun(Side, Sides)} || _ <- lists:seq(1, ?ROUNDS), Side <- [Base, Other]],
    Best = fun(Side) ->
                   Values = [V || {S, V} <- Results, S =:= Side],
                   case Unit of calls_per_s -> lists:max(Values); ms -> lists:min(Values) end
           end,
    RawV = Best(Base), AdV = Best(Other),
    Ratio = case Unit of calls_per_s -> RawV / AdV; ms -> AdV / RawV end,
    Show = fun(V) -> case Unit of calls_per_s -> io_lib:format("~s/s", [thousands(round(V))]);
                                  ms -> io_lib:format("~.1f ms", [V]) end end,
    Verdict = case Target of none -> "-";
                  _ when Ratio =< Target -> io_lib:format("<= ~.1fx: met", [Target]);
                  _ -> io_lib:format("<= ~.1fx: NOT met", [Target]) end,
    io:format("| ~s | ~s | ~s | ~.2fx | ~s |~n", [Name, Show(RawV), Show(AdV), Ratio, Verdict]).

thousands(N) when N < 1000 -> integer_to_list(N);
thousands(N) -> thousands(N div 1000) ++ io_lib:format(",~3..0B", [N rem 1000]).

req(Module, Function, Args) ->
    #{<<"call_type">> => <<"call">>, <<"python_module">> => Module, <<"function">> => Function,
      <<"args">> => Args, <<"kwargs">> => #{}}.

add() -> req(<<"operator">>, <<"add">>, [1, 2]).

helper(Name) -> #{<<"call_type">> => <<"helper">>, <<"helper">> => Name, <<"args">> => []}.

open(Side, Sides) ->
    {Python, Args} = maps:get(Side, Sides),
    Side =:= recording andalso file:delete(lists:last(Args)),  % each round records afresh
    Port = open_port({spawn_executable, Python}, [{packet, 4}, binary, exit_status, {args, Args}]),
    case Side of
        raw -> ok;
        _ -> {ready, _} = recv(Port)
    end,
    Port.

close(Port) ->
    port_close(Port).  % no exit_status arrives after port_close

gone(OsPid) ->
    case filelib:is_dir("/proc/" ++ integer_to_list(OsPid)) of
        true -> timer:sleep(1), gone(OsPid);
        false -> ok
    end.

recv(Port) ->
    receive {Port, {data, Bin}} -> binary_to_term(Bin)
    after 30000 -> error({no_reply, Port})
    end.

%% One request at a time.  For the raw echo, ``Reply`` says what a reply of
%% the adapter's size would hold (the echo just returns the request).
sync(Side, Sides, Request, N) -> sync_out(Side, Sides, Request, none, N).

sync_out(Side, Sides, Request, Reply, N) ->
    Port = open(Side, Sides),
    Frame = fun(Id) ->
                    case {Side, Reply} of
                        {raw, none} -> term_to_binary({call, Id, Request});
                        {raw, _} -> term_to_binary({reply, Id, {ok, Reply}});
                        {_, _} -> term_to_binary({call, Id, Request})
                    end
            end,
    Loop = fun(Count) ->
                   lists:foreach(fun(Id) ->
                                         port_command(Port, Frame(Id)),
                                         recv(Port)
                                 end, lists:seq(1, Count))
           end,
    Loop(max(N div 10, 5)),
    T0 = erlang:monotonic_time(),
    Loop(N),
    Elapsed = erlang:convert_time_unit(erlang:monotonic_time() - T0, native, microsecond),
    close(Port),
    N / (Elapsed / 1.0e6).

pipelined(Side, Sides, Request, Window, N) ->
    Port = open(Side, Sides),
    Send = fun(Id) -> port_command(Port, term_to_binary({call, Id, Request})) end,
    lists:foreach(Send, lists:seq(1, Window)),
    T0 = erlang:monotonic_time(),
    pipe_loop(Port, Send, Window + 1, N),
    Elapsed = erlang:convert_time_unit(erlang:monotonic_time() - T0, native, microsecond),
    [recv(Port) || _ <- lists:seq(1, Window)],
    close(Port),
    N / (Elapsed / 1.0e6).

pipe_loop(_Port, _Send, _Next, 0) -> ok;
pipe_loop(Port, Send, Next, Left) ->
    recv(Port),
    Send(Next),
    pipe_loop(Port, Send, Next + 1, Left - 1).

%% Median of 10 starts: open_port until the adapter's ready frame, or until
%% the raw echo answers its first frame.
startup(Side, Sides) ->
    Times = [begin
                 T0 = erlang:monotonic_time(),
                 Port = open(Side, Sides),
                 case Side of
                     raw -> port_command(Port, term_to_binary(ping)), recv(Port);
                     adapter -> ok
                 end,
                 T = erlang:convert_time_unit(erlang:monotonic_time() - T0, native, microsecond),
                 {os_pid, OsPid} = erlang:port_info(Port, os_pid),
                 close(Port),
                 gone(OsPid),  % the next start must not share the CPU with this one's exit
                 T / 1000
             end || _ <- lists:seq(1, 10)],
    lists:nth(5, lists:sort(Times)).
