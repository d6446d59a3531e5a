defmodule SnakeBridge.TensorTest do
  @moduledoc "numpy arrays as SnakeBridge.Tensor through the real adapter (numpy and pandas are test extras)."
  use ExUnit.Case, async: false

  alias SnakeBridge.{Error, Ref, Runtime, Tensor}

  @tensor [__runtime__: [arrays: :tensor]]

  test "a 2x3 float32 array is its row-major native bytes" do
    assert {:ok, %Tensor{dtype: {:f, 32}, shape: {2, 3}, data: data}} =
             SnakeBridge.call("test_helpers", "array_of", [[0, 1, 2, 3, 4, 5], "float32", [2, 3]], @tensor)

    assert data == for(x <- [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], into: <<>>, do: <<x::float-32-native>>)
  end

  test "every dtype, in Nx's notation" do
    for {numpy, type, encode} <- [
          {"int8", {:s, 8}, &<<&1::signed-8>>},
          {"int16", {:s, 16}, &<<&1::signed-16-native>>},
          {"int32", {:s, 32}, &<<&1::signed-32-native>>},
          {"int64", {:s, 64}, &<<&1::signed-64-native>>},
          {"uint8", {:u, 8}, &<<&1::8>>},
          {"uint16", {:u, 16}, &<<&1::16-native>>},
          {"uint32", {:u, 32}, &<<&1::32-native>>},
          {"uint64", {:u, 64}, &<<&1::64-native>>},
          {"float32", {:f, 32}, &<<&1 * 1.0::float-32-native>>},
          {"float64", {:f, 64}, &<<&1 * 1.0::float-64-native>>},
          {"bool", {:u, 8}, &<<min(&1, 1)::8>>}
        ] do
      assert {:ok, %Tensor{dtype: ^type, shape: {3}, data: data}} =
               SnakeBridge.call("test_helpers", "array_of", [[0, 1, 2], numpy, [3]], @tensor)

      assert data == Enum.map_join([0, 1, 2], encode), numpy
    end

    assert {:ok, %Tensor{dtype: {:f, 16}, data: <<_::binary-size(6)>>}} =
             SnakeBridge.call("test_helpers", "array_of", [[0, 1, 2], "float16", [3]], @tensor)

    assert {:ok, %Tensor{dtype: {:c, 64}, data: c64}} =
             SnakeBridge.call("test_helpers", "array_of", [[1, 2], "complex64", [2]], @tensor)

    assert c64 == <<1.0::float-32-native, 0.0::float-32-native, 2.0::float-32-native, 0.0::float-32-native>>

    assert {:ok, %Tensor{dtype: {:c, 128}, data: <<_::binary-size(32)>>}} =
             SnakeBridge.call("test_helpers", "array_of", [[1, 2], "complex128", [2]], @tensor)
  end

  test "shapes from 0-d to 4-d" do
    assert {:ok, %Tensor{shape: {}, data: <<7::signed-64-native>>}} =
             SnakeBridge.call("test_helpers", "array_of", [7, "int64", []], @tensor)

    for shape <- [{4}, {2, 2}, {1, 2, 2}, {1, 1, 2, 2}] do
      assert {:ok, %Tensor{shape: ^shape, data: data} = tensor} =
               SnakeBridge.call(
                 "test_helpers",
                 "array_of",
                 [[1, 2, 3, 4], "int32", Tuple.to_list(shape)],
                 @tensor
               )

      assert data == <<1::signed-32-native, 2::signed-32-native, 3::signed-32-native, 4::signed-32-native>>
      assert Tensor.size(tensor) == 4
    end

    assert {:ok, %Tensor{shape: {0, 3}, data: ""}} =
             SnakeBridge.call("test_helpers", "array_of", [[], "float64", [0, 3]], @tensor)
  end

  test "arrays at any depth of a result" do
    assert {:ok, %{"a" => %Tensor{dtype: {:s, 32}, shape: {2, 2}}, "list" => [%Tensor{shape: {3}}, 7]}} =
             SnakeBridge.call("test_helpers", "arrays_nested", [], @tensor)
  end

  test "without arrays: :tensor an array is a ref; the app-wide default" do
    assert {:ok, %Ref{type_name: "ndarray"}} = SnakeBridge.call("test_helpers", "arange", [3, "int64"])

    Application.put_env(:snakebridge, :arrays, :tensor)
    SnakeBridge.Config.reload()

    try do
      assert {:ok, %Tensor{}} = SnakeBridge.call("test_helpers", "arange", [3, "int64"])

      assert {:ok, %Ref{}} =
               SnakeBridge.call("test_helpers", "arange", [3, "int64"], __runtime__: [arrays: :ref])
    after
      Application.delete_env(:snakebridge, :arrays)
      SnakeBridge.Config.reload()
    end
  end

  test "a tensor argument arrives as a read-only ndarray; numpy.sum of it" do
    tensor = %Tensor{
      dtype: {:f, 64},
      shape: {2, 2},
      data: for(x <- [1.0, 2.0, 3.0, 4.5], into: <<>>, do: <<x::float-64-native>>)
    }

    assert {:ok, 10.5} = SnakeBridge.call("numpy", "sum", [tensor])

    assert {:ok, %{"type" => "ndarray", "dtype" => "float64", "shape" => {2, 2}, "writeable" => false}} =
             SnakeBridge.call("test_helpers", "describe_array", [tensor])

    # There and back.
    assert {:ok, ^tensor} = SnakeBridge.call("numpy", "copy", [tensor], @tensor)
  end

  test "fetch brings an array held as a ref" do
    {:ok, %Ref{} = ref} = SnakeBridge.call("test_helpers", "arange", [5, "uint16"])
    assert {:ok, %Tensor{dtype: {:u, 16}, shape: {5}, data: data}} = Tensor.fetch(ref)
    assert data == Enum.map_join(0..4, &<<&1::16-native>>)

    {:ok, series} = SnakeBridge.call("pandas", "Series", [[1.5, 2.5]])
    assert {:ok, %Tensor{dtype: {:f, 64}, shape: {2}}} = Tensor.fetch(series)
  end

  test "an object array has no tensor form: a TypeError" do
    assert {:error, %Error{python_type: "TypeError", message: message}} =
             SnakeBridge.call("test_helpers", "array_of", [["a", 1], "object", [2]], @tensor)

    assert message =~ "no tensor form"
  end

  test "numpy scalars are plain numbers, and Enum.sum over an int array ref works" do
    assert {:ok, [3, 0.5, true, 255]} = SnakeBridge.call("test_helpers", "numpy_scalars", [])
    {:ok, %Ref{} = array} = SnakeBridge.call("test_helpers", "arange", [10, "int64"])
    assert Enum.sum(array) == 45
    assert Enum.count(array) == 10
  end

  test "pandas Timestamps: DateTime with its microseconds and offset, NaiveDateTime, NaT as nil" do
    assert {:ok, stamps} = Runtime.call("test_helpers", "timestamps", [])

    assert %DateTime{utc_offset: 3600, std_offset: 0, hour: 10, microsecond: {123_456, 6}} =
             aware = stamps["aware"]

    assert DateTime.to_iso8601(aware) == "2026-03-01T10:00:00.123456+01:00"
    assert DateTime.compare(aware, ~U[2026-03-01 09:00:00.123456Z]) == :eq
    assert {:ok, ~U[2026-03-01 09:00:00.123456Z]} = DateTime.shift_zone(aware, "Etc/UTC")

    assert stamps["utc"] == ~U[2026-03-01 09:00:00.500000Z]
    assert %DateTime{utc_offset: -19_800, time_zone: "-05:30"} = negative = stamps["negative"]
    assert DateTime.to_iso8601(negative) == "2026-03-01T10:00:00-05:30"
    assert stamps["naive"] == ~N[2026-03-01 10:00:00.000250]
    assert stamps["nat"] == nil

    # Back to Python at the same offset.
    assert {:ok, "2026-03-01T10:00:00.123456+01:00"} = Runtime.call("test_helpers", "isoformat", [aware])
    assert {:ok, "2026-03-01T10:00:00-05:30"} = Runtime.call("test_helpers", "isoformat", [negative])
  end

  @tag :tmp_dir
  test "the README's numpy and pandas lines, as written", %{tmp_dir: dir} do
    assert {:ok, 6} = SnakeBridge.call("numpy", "sum", [[1, 2, 3]])
    csv = Path.join(dir, "prices.csv")
    File.write!(csv, "date,close\n2026-03-02,101.5\n2026-03-03,99.25\n")

    {:ok, df} = SnakeBridge.call("pandas", "read_csv", [csv], parse_dates: ["date"])
    {:ok, rows} = SnakeBridge.method(df, "to_dict", ["records"])

    assert rows == [
             %{"date" => ~N[2026-03-02 00:00:00], "close" => 101.5},
             %{"date" => ~N[2026-03-03 00:00:00], "close" => 99.25}
           ]

    {:ok, col} = SnakeBridge.method(df, "__getitem__", ["close"], __runtime__: [arrays: :tensor])

    assert %Tensor{dtype: {:f, 64}, shape: {2}, data: <<101.5::float-64-native, 99.25::float-64-native>>} =
             col
  end
end
