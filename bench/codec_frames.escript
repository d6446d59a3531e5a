#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noinput
%% Writes the frames bench/codec.py decodes, made by the BEAM's own
%% term_to_binary (this OTP's default encoding), one file per case.
-mode(compile).

main([Dir]) ->
    rand:seed(exsss, {1, 2, 3}),
    Cases = [
        {"request_map", #{<<"call_type">> => <<"call">>, <<"python_module">> => <<"math">>,
                          <<"function">> => <<"sqrt">>, <<"args">> => [16], <<"kwargs">> => #{},
                          <<"session_id">> => <<"s1">>}},
        {"ints_10k", lists:seq(1, 10000)},
        {"floats_10k", [I * 1.1 || I <- lists:seq(1, 10000)]},
        {"binary_1mb", rand:bytes(1 bsl 20)},
        {"maps_1000", [#{<<"id">> => I, <<"name">> => <<"item">>, <<"score">> => I * 0.5,
                         <<"tags">> => [a, b]} || I <- lists:seq(1, 1000)]}
    ],
    [ok = file:write_file(filename:join(Dir, Name ++ ".etf"), term_to_binary(T)) || {Name, T} <- Cases],
    ok.
