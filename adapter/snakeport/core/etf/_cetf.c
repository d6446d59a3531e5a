/*
 * Native accelerator for SnakePort's ETF codec (snakeport.core.etf._cetf).
 *
 * Behaviour is that of the pure-Python codec in decoder.py / encoder.py,
 * value for value, error for error (class, message, offset, path).  The
 * common terms are handled here; the rare paths call the pure helpers
 * (tagged maps and structs, twin keys, improper tails, unusual Python types,
 * `default`, key collision checks, error paths), imported once at module
 * initialisation, so they behave identically by construction.
 *
 * Both directions are iterative over explicit stacks: nesting is bounded by
 * max_depth, never by the C stack.  Every length read from the input is
 * checked against the bytes that remain before anything is allocated, and
 * every length/offset computation is done so that it cannot overflow.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <zlib.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

/* -- tags ------------------------------------------------------------------ */

enum {
    T_VERSION = 131,
    T_NEW_FLOAT = 70,
    T_BIT_BINARY = 77,
    T_COMPRESSED = 80,
    T_NEW_PID = 88,
    T_NEW_PORT = 89,
    T_NEWER_REFERENCE = 90,
    T_SMALL_INTEGER = 97,
    T_INTEGER = 98,
    T_FLOAT = 99,
    T_ATOM = 100,
    T_REFERENCE = 101,
    T_PORT = 102,
    T_PID = 103,
    T_SMALL_TUPLE = 104,
    T_LARGE_TUPLE = 105,
    T_NIL = 106,
    T_STRING = 107,
    T_LIST = 108,
    T_BINARY = 109,
    T_SMALL_BIG = 110,
    T_LARGE_BIG = 111,
    T_NEW_FUN = 112,
    T_EXPORT = 113,
    T_NEW_REFERENCE = 114,
    T_SMALL_ATOM = 115,
    T_MAP = 116,
    T_ATOM_UTF8 = 118,
    T_SMALL_ATOM_UTF8 = 119,
    T_V4_PORT = 120,
};

/* -- what the module borrows from the Python side ------------------------- */

static PyObject *AtomType, *PidType, *PortType, *ReferenceType, *FunType, *OpaqueType;
static PyObject *BitStringType, *HashableListType, *FrozenMapType;
static PyObject *DecodeError, *EncodeError, *StructError;
static PyObject *SpecialAtoms, *Unsupported;
static PyObject *py_finish_map, *py_twin_key, *py_join_tail, *py_pure_decode;
static PyObject *py_other, *py_check_distinct_keys, *py_locate, *py_big, *py_done;
static PyObject *py_pure_encode, *py_pure_encode_pieces, *py_zlib_compress;
static PyObject *dec_default_max_depth, *dec_default_max_size, *enc_default_max_depth;
static PyObject *default_compress_level;
/* Member descriptors of the opaque types: set directly, as their __init__ does. */
static PyObject *descr_raw, *descr_identity, *descr_arity;

static PyObject *s_type, *s_struct, *s_items, *s_raw, *s_data, *s_max_depth, *s_max_size;
static PyObject *s_tag_hook, *s_term, *s_default, *s_compress_above, *s_compress_level;
static PyObject *s_culprit, *s_path, *s_reason, *s_cast, *s_B, *s_from_bytes, *s_little;

/* -- small helpers ---------------------------------------------------------- */

static inline uint16_t
be16(const unsigned char *s)
{
    return (uint16_t)(((unsigned)s[0] << 8) | s[1]);
}

static inline uint32_t
be32(const unsigned char *s)
{
    return ((uint32_t)s[0] << 24) | ((uint32_t)s[1] << 16) | ((uint32_t)s[2] << 8) | (uint32_t)s[3];
}

static inline double
be_double(const unsigned char *s)
{
    uint64_t u = 0;
    double x;
    for (int i = 0; i < 8; i++) {
        u = (u << 8) | s[i];
    }
    memcpy(&x, &u, sizeof x);
    return x;
}

static inline void
put_be32(unsigned char *s, uint32_t v)
{
    s[0] = (unsigned char)(v >> 24);
    s[1] = (unsigned char)(v >> 16);
    s[2] = (unsigned char)(v >> 8);
    s[3] = (unsigned char)v;
}

static inline uint32_t
fnv1a(const unsigned char *s, Py_ssize_t n)
{
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 16777619u;
    }
    return h;
}

static inline int
is_ascii(const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ULL) {
            return 0;
        }
    }
    for (; i < n; i++) {
        if (s[i] & 0x80) {
            return 0;
        }
    }
    return 1;
}

/* Strict UTF-8 as CPython's decoder accepts it (no surrogates, no overlong
 * forms, nothing above U+10FFFF).  *chars gets the code point count. */
static int
utf8_valid(const unsigned char *s, Py_ssize_t n, Py_ssize_t *chars)
{
    Py_ssize_t i = 0, count = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            count++;
            continue;
        }
        if (c < 0xC2) {
            return 0;
        }
        if (c < 0xE0) {
            if (n - i < 2 || (s[i + 1] & 0xC0) != 0x80) {
                return 0;
            }
            i += 2;
        }
        else if (c < 0xF0) {
            if (n - i < 3) {
                return 0;
            }
            unsigned char c1 = s[i + 1];
            if (c == 0xE0) {
                if (c1 < 0xA0 || c1 > 0xBF) {
                    return 0;
                }
            }
            else if (c == 0xED) {
                if (c1 < 0x80 || c1 > 0x9F) {
                    return 0;
                }
            }
            else if ((c1 & 0xC0) != 0x80) {
                return 0;
            }
            if ((s[i + 2] & 0xC0) != 0x80) {
                return 0;
            }
            i += 3;
        }
        else if (c < 0xF5) {
            if (n - i < 4) {
                return 0;
            }
            unsigned char c1 = s[i + 1];
            if (c == 0xF0) {
                if (c1 < 0x90 || c1 > 0xBF) {
                    return 0;
                }
            }
            else if (c == 0xF4) {
                if (c1 < 0x80 || c1 > 0x8F) {
                    return 0;
                }
            }
            else if ((c1 & 0xC0) != 0x80) {
                return 0;
            }
            if ((s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) {
                return 0;
            }
            i += 4;
        }
        else {
            return 0;
        }
        count++;
    }
    if (chars != NULL) {
        *chars = count;
    }
    return 1;
}

/* Raise DecodeError(message, offset); offset < 0 means None. */
static void
raise_decode_error(PyObject *message, Py_ssize_t offset)
{
    if (message == NULL) {
        return;
    }
    PyObject *off = offset < 0 ? Py_NewRef(Py_None) : PyLong_FromSsize_t(offset);
    if (off == NULL) {
        Py_DECREF(message);
        return;
    }
    PyObject *exc = PyObject_CallFunctionObjArgs(DecodeError, message, off, NULL);
    Py_DECREF(message);
    Py_DECREF(off);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
}

static void
decode_errorf(Py_ssize_t offset, const char *format, ...)
{
    va_list va;
    va_start(va, format);
    PyObject *message = PyUnicode_FromFormatV(format, va);
    va_end(va);
    raise_decode_error(message, offset);
}

/* Raise EncodeError(message, culprit=culprit); the path is found later. */
static void
encode_errorf(PyObject *culprit, const char *format, ...)
{
    va_list va;
    va_start(va, format);
    PyObject *message = PyUnicode_FromFormatV(format, va);
    va_end(va);
    if (message == NULL) {
        return;
    }
    PyObject *args[2] = {message, culprit};
    PyObject *names = PyTuple_Pack(1, s_culprit);
    PyObject *exc = names == NULL ? NULL : PyObject_Vectorcall(EncodeError, args, 1, names);
    Py_XDECREF(names);
    Py_DECREF(message);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
}

/* The 'I' of struct.pack refuses what does not fit 32 bits: so do we. */
static int
check_u32(Py_ssize_t n)
{
    if ((uint64_t)n > 0xFFFFFFFFu) {
        PyErr_SetString(StructError, "'I' format requires 0 <= number <= 4294967295");
        return -1;
    }
    return 0;
}

/* Clamp an exact int to Py_ssize_t (limits compare the same way). */
static Py_ssize_t
clamp_ssize(PyObject *value, int *error)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow > 0) {
        return PY_SSIZE_T_MAX;
    }
    if (overflow < 0) {
        return PY_SSIZE_T_MIN;
    }
    if (v == -1 && PyErr_Occurred()) {
        *error = 1;
        return 0;
    }
    if (v > PY_SSIZE_T_MAX) {
        return PY_SSIZE_T_MAX;
    }
    if (v < PY_SSIZE_T_MIN) {
        return PY_SSIZE_T_MIN;
    }
    return (Py_ssize_t)v;
}

/* -- argument parsing (the pure functions' signatures) ----------------------- */

/* One positional-or-keyword parameter, then keyword-only ones.  Messages
 * follow CPython's for a def with that signature. */
static int
parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargsf, PyObject *kwnames, PyObject *first,
           PyObject *const *names, int nnames, PyObject **out)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes 1 positional argument but %zd were given", fname, nargs);
        return -1;
    }
    out[0] = nargs ? args[0] : NULL;
    if (kwnames != NULL) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < nkw; i++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, i);
            PyObject *value = args[nargs + i];
            int found = -1;
            if (name == first) {
                found = 0;
            }
            for (int j = 0; found < 0 && j < nnames; j++) {
                if (name == names[j]) {
                    found = j + 1;
                }
            }
            if (found < 0) {
                int eq = PyUnicode_Compare(name, first) == 0;
                if (eq) {
                    found = 0;
                }
                for (int j = 0; found < 0 && j < nnames; j++) {
                    if (PyUnicode_Compare(name, names[j]) == 0) {
                        found = j + 1;
                    }
                }
                if (PyErr_Occurred()) {
                    return -1;
                }
            }
            if (found < 0) {
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname, name);
                return -1;
            }
            if (found == 0 && out[0] != NULL) {
                PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%U'", fname, first);
                return -1;
            }
            out[found] = value;
        }
    }
    if (out[0] == NULL) {
        PyErr_Format(PyExc_TypeError, "%s() missing 1 required positional argument: '%U'", fname, first);
        return -1;
    }
    return 0;
}

/* ========================================================================== */
/* Decoder                                                                    */
/* ========================================================================== */

/* Atom cache: raw name bytes (per encoding) -> decoded value.  Direct-mapped
 * and fixed-size, so hostile input cannot grow it; repeated atoms come back
 * as the same interned object. */
#define ATOM_CACHE_SIZE 4096
#define ATOM_CACHE_MAX_LEN 255
typedef struct {
    PyObject *raw;   /* bytes */
    PyObject *value; /* Atom or special value */
} AtomSlot;
static AtomSlot atom_cache[2][ATOM_CACHE_SIZE];

/* Short ASCII binaries in key position -> their str (hash kept). */
#define KEY_CACHE_SIZE 2048
#define KEY_CACHE_MAX_LEN 32
static PyObject *key_cache[KEY_CACHE_SIZE];

enum { K_LIST, K_TAIL, K_TUPLE, K_MAP };

typedef struct {
    unsigned char kind;
    unsigned char frozen;
    Py_ssize_t need;   /* list/tuple: items wanted (a tail counts); map: pairs to come */
    Py_ssize_t vbase;  /* where this container's items start on the value stack */
    Py_ssize_t opened; /* offset of the container's tag (without base) */
    PyObject *dict;    /* map being filled */
    PyObject *key;     /* map key waiting for its value, or NULL */
} DFrame;

#define DEC_INLINE_VALUES 64
#define DEC_INLINE_FRAMES 16

typedef struct {
    const unsigned char *p;
    Py_ssize_t end;
    Py_ssize_t base; /* added to offsets in errors */
    Py_ssize_t max_depth;
    PyObject *max_depth_obj;
    PyObject *tag_hook;
    PyObject **vals;
    Py_ssize_t nv, cv;
    DFrame *fr;
    Py_ssize_t nf, cf;
    PyObject *vals_inline[DEC_INLINE_VALUES];
    DFrame fr_inline[DEC_INLINE_FRAMES];
} Dec;

static void
dec_init(Dec *d, const unsigned char *p, Py_ssize_t end, Py_ssize_t base, Py_ssize_t max_depth,
         PyObject *max_depth_obj, PyObject *tag_hook)
{
    d->p = p;
    d->end = end;
    d->base = base;
    d->max_depth = max_depth;
    d->max_depth_obj = max_depth_obj;
    d->tag_hook = tag_hook;
    d->vals = d->vals_inline;
    d->nv = 0;
    d->cv = DEC_INLINE_VALUES;
    d->fr = d->fr_inline;
    d->nf = 0;
    d->cf = DEC_INLINE_FRAMES;
}

static void
dec_cleanup(Dec *d)
{
    for (Py_ssize_t i = 0; i < d->nv; i++) {
        Py_DECREF(d->vals[i]);
    }
    for (Py_ssize_t i = 0; i < d->nf; i++) {
        Py_XDECREF(d->fr[i].dict);
        Py_XDECREF(d->fr[i].key);
    }
    d->nv = d->nf = 0;
    if (d->vals != d->vals_inline) {
        PyMem_Free(d->vals);
        d->vals = d->vals_inline;
    }
    if (d->fr != d->fr_inline) {
        PyMem_Free(d->fr);
        d->fr = d->fr_inline;
    }
}

/* Make room for `more` values (grows only with values actually decoded). */
static int
dec_reserve(Dec *d, Py_ssize_t more)
{
    if (d->cv - d->nv >= more) {
        return 0;
    }
    Py_ssize_t want = d->cv;
    while (want - d->nv < more) {
        if (want > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(PyObject *)) {
            PyErr_NoMemory();
            return -1;
        }
        want *= 2;
    }
    PyObject **grown;
    if (d->vals == d->vals_inline) {
        grown = PyMem_Malloc((size_t)want * sizeof(PyObject *));
        if (grown != NULL) {
            memcpy(grown, d->vals, (size_t)d->nv * sizeof(PyObject *));
        }
    }
    else {
        grown = PyMem_Realloc(d->vals, (size_t)want * sizeof(PyObject *));
    }
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    d->vals = grown;
    d->cv = want;
    return 0;
}

/* Push a value (stolen, even on failure). */
static inline int
dec_push(Dec *d, PyObject *v)
{
    if (d->nv == d->cv && dec_reserve(d, 1) < 0) {
        Py_DECREF(v);
        return -1;
    }
    d->vals[d->nv++] = v;
    return 0;
}

static DFrame *
dec_open(Dec *d)
{
    if (d->nf == d->cf) {
        if (d->cf > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(DFrame)) {
            PyErr_NoMemory();
            return NULL;
        }
        Py_ssize_t want = d->cf * 2;
        DFrame *grown;
        if (d->fr == d->fr_inline) {
            grown = PyMem_Malloc((size_t)want * sizeof(DFrame));
            if (grown != NULL) {
                memcpy(grown, d->fr, (size_t)d->nf * sizeof(DFrame));
            }
        }
        else {
            grown = PyMem_Realloc(d->fr, (size_t)want * sizeof(DFrame));
        }
        if (grown == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        d->fr = grown;
        d->cf = want;
    }
    DFrame *f = &d->fr[d->nf++];
    f->dict = NULL;
    f->key = NULL;
    return f;
}

/* The pure decoder turns IndexError/struct.error raised anywhere in its loop
 * (a tag_hook's included) into "term is truncated" at the current term. */
static void
dec_convert_index_error(Dec *d, Py_ssize_t start)
{
    if (PyErr_ExceptionMatches(PyExc_IndexError) || PyErr_ExceptionMatches(StructError)) {
        PyErr_Clear();
        decode_errorf(d->base + start, "term is truncated");
    }
}

static PyObject *
call_class0(PyObject *cls)
{
    return PyObject_CallNoArgs(cls);
}

/* -- values ------------------------------------------------------------------ */

static PyObject *
ascii_str(const unsigned char *s, Py_ssize_t n)
{
    PyObject *str = PyUnicode_New(n, 127);
    if (str != NULL && n) {
        memcpy(PyUnicode_1BYTE_DATA(str), s, (size_t)n);
    }
    return str;
}

/* A binary is text when it is valid UTF-8, else bytes. */
static PyObject *
make_binary(const unsigned char *s, Py_ssize_t n, int key)
{
    PyObject **slot = NULL;
    if (key && n <= KEY_CACHE_MAX_LEN) {
        slot = &key_cache[fnv1a(s, n) & (KEY_CACHE_SIZE - 1)];
        PyObject *known = *slot;
        if (known != NULL && PyUnicode_GET_LENGTH(known) == n &&
            memcmp(PyUnicode_1BYTE_DATA(known), s, (size_t)n) == 0) {
            return Py_NewRef(known);
        }
    }
    if (is_ascii(s, n)) {
        PyObject *str = ascii_str(s, n);
        if (slot != NULL && str != NULL && n) {
            PyObject *old = *slot;
            *slot = Py_NewRef(str);
            Py_XDECREF(old);
        }
        return str;
    }
    if (utf8_valid(s, n, NULL)) {
        return PyUnicode_DecodeUTF8((const char *)s, n, NULL);
    }
    return PyBytes_FromStringAndSize((const char *)s, n);
}

/* The atom for a name, as the pure _new_atom: errors name `offset`. */
static PyObject *
new_atom(const unsigned char *s, Py_ssize_t n, int latin1, Py_ssize_t offset)
{
    PyObject *text;
    if (latin1) {
        text = PyUnicode_DecodeLatin1((const char *)s, n, NULL);
    }
    else {
        Py_ssize_t chars = 0;
        if (!utf8_valid(s, n, &chars)) {
            PyObject *raw = PyBytes_FromStringAndSize((const char *)s, n);
            if (raw != NULL) {
                decode_errorf(offset, "atom %R is not valid UTF-8", raw);
                Py_DECREF(raw);
            }
            return NULL;
        }
        text = PyUnicode_DecodeUTF8((const char *)s, n, NULL);
        if (text != NULL && chars > 255) {
            Py_DECREF(text);
            decode_errorf(offset, "atom of %zd characters is over the 255 limit", chars);
            return NULL;
        }
    }
    if (text == NULL) {
        return NULL;
    }
    PyObject *special = PyDict_GetItemWithError(SpecialAtoms, text);
    if (special != NULL) {
        Py_DECREF(text);
        return Py_NewRef(special);
    }
    if (PyErr_Occurred()) {
        Py_DECREF(text);
        return NULL;
    }
    PyObject *atom = PyObject_CallOneArg(AtomType, text);
    Py_DECREF(text);
    return atom;
}

/* Validate an atom's name without making it (pids, refs, ports, funs). */
static int
check_atom_name(const unsigned char *s, Py_ssize_t n, int latin1, Py_ssize_t offset)
{
    if (latin1) {
        return 0;
    }
    Py_ssize_t chars = 0;
    if (!utf8_valid(s, n, &chars)) {
        PyObject *raw = PyBytes_FromStringAndSize((const char *)s, n);
        if (raw != NULL) {
            decode_errorf(offset, "atom %R is not valid UTF-8", raw);
            Py_DECREF(raw);
        }
        return -1;
    }
    if (chars > 255) {
        decode_errorf(offset, "atom of %zd characters is over the 255 limit", chars);
        return -1;
    }
    return 0;
}

static PyObject *
cached_atom(const unsigned char *s, Py_ssize_t n, int latin1, Py_ssize_t offset)
{
    if (n > ATOM_CACHE_MAX_LEN) {
        return new_atom(s, n, latin1, offset);
    }
    AtomSlot *slot = &atom_cache[latin1][fnv1a(s, n) & (ATOM_CACHE_SIZE - 1)];
    if (slot->raw != NULL && PyBytes_GET_SIZE(slot->raw) == n &&
        memcmp(PyBytes_AS_STRING(slot->raw), s, (size_t)n) == 0) {
        return Py_NewRef(slot->value);
    }
    PyObject *value = new_atom(s, n, latin1, offset);
    if (value == NULL) {
        return NULL;
    }
    PyObject *raw = PyBytes_FromStringAndSize((const char *)s, n);
    if (raw == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    /* Read the slot again: making the atom may have run Python code. */
    PyObject *old_raw = slot->raw, *old_value = slot->value;
    slot->raw = raw;
    slot->value = Py_NewRef(value);
    Py_XDECREF(old_raw);
    Py_XDECREF(old_value);
    return value;
}

/* Pid/Port/Reference(raw) and Fun(raw, arity), as their __init__ would. */
static PyObject *
make_opaque(PyObject *cls, const unsigned char *s, Py_ssize_t n, int arity)
{
    PyObject *raw = PyBytes_FromStringAndSize((const char *)s, n);
    if (raw == NULL) {
        return NULL;
    }
    PyObject *obj;
    if (descr_raw != NULL && (arity < 0 ? descr_identity != NULL : descr_arity != NULL)) {
        PyTypeObject *type = (PyTypeObject *)cls;
        obj = type->tp_alloc(type, 0);
        if (obj == NULL) {
            Py_DECREF(raw);
            return NULL;
        }
        int failed = Py_TYPE(descr_raw)->tp_descr_set(descr_raw, obj, raw);
        if (!failed) {
            if (arity < 0) {
                failed = Py_TYPE(descr_identity)->tp_descr_set(descr_identity, obj, Py_None);
            }
            else {
                PyObject *a = PyLong_FromLong(arity);
                failed = a == NULL ? -1 : Py_TYPE(descr_arity)->tp_descr_set(descr_arity, obj, a);
                Py_XDECREF(a);
            }
        }
        Py_DECREF(raw);
        if (failed) {
            Py_DECREF(obj);
            return NULL;
        }
        return obj;
    }
    if (arity < 0) {
        obj = PyObject_CallOneArg(cls, raw);
    }
    else {
        PyObject *a = PyLong_FromLong(arity);
        obj = a == NULL ? NULL : PyObject_CallFunctionObjArgs(cls, raw, a, NULL);
        Py_XDECREF(a);
    }
    Py_DECREF(raw);
    return obj;
}

/* Step over the atom a pid/ref/port/export holds; -1 with an error set. */
static Py_ssize_t
skip_atom(Dec *d, Py_ssize_t pos, const char *what, Py_ssize_t offset, int *truncated)
{
    const unsigned char *p = d->p;
    Py_ssize_t end = d->end;
    if (pos >= end) {
        *truncated = 1;
        return -1;
    }
    int tag = p[pos++];
    Py_ssize_t size;
    if (tag == T_SMALL_ATOM_UTF8 || tag == T_SMALL_ATOM) {
        if (pos >= end) {
            *truncated = 1;
            return -1;
        }
        size = p[pos++];
    }
    else if (tag == T_ATOM || tag == T_ATOM_UTF8) {
        if (end - pos < 2) {
            *truncated = 1;
            return -1;
        }
        size = be16(p + pos);
        pos += 2;
    }
    else {
        decode_errorf(offset, "%s must hold an atom, found tag %d", what, tag);
        return -1;
    }
    if (size > end - pos) {
        decode_errorf(offset, "atom of %zd bytes runs past the end", size);
        return -1;
    }
    if (check_atom_name(p + pos, size, tag == T_ATOM || tag == T_SMALL_ATOM, offset) < 0) {
        return -1;
    }
    return pos + size;
}

/* The tags that do not occur in ordinary traffic (the pure _rare). */
static PyObject *
dec_rare(Dec *d, int tag, Py_ssize_t *ppos, Py_ssize_t start)
{
    const unsigned char *p = d->p;
    const Py_ssize_t end = d->end;
    const Py_ssize_t offset = d->base + start;
    Py_ssize_t pos = *ppos;
    int truncated = 0;
    PyObject *value = NULL;

    switch (tag) {
    case T_SMALL_BIG:
    case T_LARGE_BIG: {
        Py_ssize_t size;
        if (tag == T_SMALL_BIG) {
            if (pos >= end) {
                goto truncated;
            }
            size = p[pos++];
        }
        else {
            if (end - pos < 4) {
                goto truncated;
            }
            size = (Py_ssize_t)be32(p + pos);
            pos += 4;
        }
        if (pos >= end) {
            goto truncated;
        }
        int sign = p[pos++];
        if (sign > 1) {
            decode_errorf(offset, "bignum sign byte is %d", sign);
            return NULL;
        }
        if (size > end - pos) {
            decode_errorf(offset, "bignum of %zd bytes runs past the end", size);
            return NULL;
        }
        PyObject *magnitude;
        if (size <= 8) {
            unsigned long long m = 0;
            for (Py_ssize_t i = size - 1; i >= 0; i--) {
                m = (m << 8) | p[pos + i];
            }
            magnitude = PyLong_FromUnsignedLongLong(m);
        }
        else {
            PyObject *view = PyMemoryView_FromMemory((char *)(p + pos), size, PyBUF_READ);
            magnitude = view == NULL ? NULL
                                     : PyObject_CallMethodObjArgs((PyObject *)&PyLong_Type, s_from_bytes,
                                                                  view, s_little, NULL);
            Py_XDECREF(view);
        }
        if (magnitude != NULL && sign) {
            value = PyNumber_Negative(magnitude);
            Py_DECREF(magnitude);
        }
        else {
            value = magnitude;
        }
        pos += size;
        break;
    }
    case T_NEW_PID:
    case T_PID:
    case T_REFERENCE:
    case T_NEW_PORT:
    case T_V4_PORT:
    case T_PORT: {
        const char *what = (tag == T_NEW_PID || tag == T_PID) ? "pid"
                           : tag == T_REFERENCE                ? "reference"
                                                               : "port";
        PyObject *cls = (tag == T_NEW_PID || tag == T_PID) ? PidType
                        : tag == T_REFERENCE                ? ReferenceType
                                                            : PortType;
        Py_ssize_t stop = skip_atom(d, pos, what, offset, &truncated);
        if (stop < 0) {
            break;
        }
        stop += tag == T_NEW_PID ? 12 : tag == T_PID ? 9 : tag == T_REFERENCE ? 5 : tag == T_NEW_PORT ? 8
                : tag == T_V4_PORT                                                   ? 12
                                                                                     : 5;
        if (stop > end) {
            decode_errorf(offset, "%s runs past the end", what);
            return NULL;
        }
        value = make_opaque(cls, p + start, stop - start, -1);
        pos = stop;
        break;
    }
    case T_NEWER_REFERENCE:
    case T_NEW_REFERENCE: {
        if (end - pos < 2) {
            goto truncated;
        }
        int words = be16(p + pos);
        if (words < 1 || words > 5) {
            decode_errorf(offset, "reference of %d words (1-5 allowed)", words);
            return NULL;
        }
        Py_ssize_t stop = skip_atom(d, pos + 2, "reference", offset, &truncated);
        if (stop < 0) {
            break;
        }
        stop += (tag == T_NEWER_REFERENCE ? 4 : 1) + 4 * words;
        if (stop > end) {
            decode_errorf(offset, "reference runs past the end");
            return NULL;
        }
        value = make_opaque(ReferenceType, p + start, stop - start, -1);
        pos = stop;
        break;
    }
    case T_NEW_FUN: {
        if (end - pos < 4) {
            goto truncated;
        }
        uint32_t size = be32(p + pos);
        if (size < 34) {
            decode_errorf(offset, "fun of %lu bytes is too short", (unsigned long)size);
            return NULL;
        }
        if ((Py_ssize_t)size > end - pos) {
            decode_errorf(offset, "fun runs past the end");
            return NULL;
        }
        Py_ssize_t stop = pos + (Py_ssize_t)size;
        value = make_opaque(FunType, p + start, stop - start, p[pos + 4]);
        pos = stop;
        break;
    }
    case T_EXPORT: {
        Py_ssize_t at = skip_atom(d, pos, "export fun module", offset, &truncated);
        if (at < 0) {
            break;
        }
        at = skip_atom(d, at, "export fun name", offset, &truncated);
        if (at < 0) {
            break;
        }
        if (at >= end) {
            goto truncated;
        }
        if (p[at] != T_SMALL_INTEGER) {
            decode_errorf(offset, "export fun arity must be a small integer");
            return NULL;
        }
        at += 2;
        if (at > end) {
            decode_errorf(offset, "fun runs past the end");
            return NULL;
        }
        value = make_opaque(FunType, p + start, at - start, p[at - 1]);
        pos = at;
        break;
    }
    case T_BIT_BINARY: {
        if (end - pos < 5) {
            goto truncated;
        }
        uint32_t size = be32(p + pos);
        int bits = p[pos + 4];
        pos += 5;
        if (!size || bits < 1 || bits > 8) {
            decode_errorf(offset, "bitstring of %lu bytes with %d bits in its last byte", (unsigned long)size,
                          bits);
            return NULL;
        }
        if ((Py_ssize_t)size > end - pos) {
            decode_errorf(offset, "bitstring of %lu bytes runs past the end", (unsigned long)size);
            return NULL;
        }
        PyObject *data = PyBytes_FromStringAndSize((const char *)(p + pos), (Py_ssize_t)size);
        PyObject *b = data == NULL ? NULL : PyLong_FromLong(bits);
        value = b == NULL ? NULL : PyObject_CallFunctionObjArgs(BitStringType, data, b, NULL);
        Py_XDECREF(data);
        Py_XDECREF(b);
        pos += (Py_ssize_t)size;
        break;
    }
    case T_FLOAT: {
        if (end - pos < 31) {
            decode_errorf(offset, "FLOAT_EXT is truncated");
            return NULL;
        }
        const unsigned char *text = p + pos;
        const unsigned char *nul = memchr(text, 0, 31);
        Py_ssize_t len = nul == NULL ? 31 : nul - text;
        PyObject *head = PyBytes_FromStringAndSize((const char *)text, len);
        if (head == NULL) {
            return NULL;
        }
        PyObject *number = PyObject_CallOneArg((PyObject *)&PyFloat_Type, head);
        Py_DECREF(head);
        if (number == NULL) {
            if (PyErr_ExceptionMatches(PyExc_ValueError)) {
                PyErr_Clear();
                PyObject *whole = PyBytes_FromStringAndSize((const char *)text, 31);
                if (whole != NULL) {
                    decode_errorf(offset, "FLOAT_EXT text %R is not a float", whole);
                    Py_DECREF(whole);
                }
            }
            return NULL;
        }
        if (!isfinite(PyFloat_AsDouble(number))) {
            Py_DECREF(number);
            decode_errorf(offset, "FLOAT_EXT holds a non-finite float");
            return NULL;
        }
        value = number;
        pos += 31;
        break;
    }
    case T_COMPRESSED:
        decode_errorf(offset, "a compressed term may only appear at the top level");
        return NULL;
    default: {
        PyObject *key = PyLong_FromLong(tag);
        if (key == NULL) {
            return NULL;
        }
        PyObject *reason = PyDict_GetItemWithError(Unsupported, key);
        Py_DECREF(key);
        if (reason != NULL) {
            decode_errorf(offset, "tag %d unsupported: %S", tag, reason);
        }
        else if (!PyErr_Occurred()) {
            decode_errorf(offset, "unknown tag %d", tag);
        }
        return NULL;
    }
    }
    if (truncated) {
        goto truncated;
    }
    *ppos = pos;
    return value;
truncated:
    decode_errorf(offset, "term is truncated");
    return NULL;
}

/* Leading plain numbers of a list, in runs of one tag (the pure _number_run).
 * Values go on the value stack; *found counts them.  Returns -1 on error. */
static int
number_run(Dec *d, Py_ssize_t *ppos, Py_ssize_t count, Py_ssize_t start, Py_ssize_t *found)
{
    const unsigned char *p = d->p;
    const Py_ssize_t end = d->end;
    Py_ssize_t pos = *ppos;
    *found = 0;
    while (count >= 4) {
        if (pos >= end) {
            decode_errorf(d->base + start, "term is truncated");
            return -1;
        }
        int tag = p[pos];
        Py_ssize_t stride;
        if (tag == T_SMALL_INTEGER) {
            stride = 2;
        }
        else if (tag == T_INTEGER) {
            stride = 5;
        }
        else if (tag == T_NEW_FLOAT) {
            stride = 9;
        }
        else {
            break;
        }
        Py_ssize_t run = 0;
        for (Py_ssize_t q = pos; run < count && q < end && p[q] == tag; q += stride) {
            run++;
        }
        if (run > (end - pos) / stride) {
            run = (end - pos) / stride;
        }
        if (run < 4) {
            break;
        }
        if (tag == T_NEW_FLOAT) {
            for (Py_ssize_t k = 0; k < run; k++) {
                if (!isfinite(be_double(p + pos + k * stride + 1))) {
                    decode_errorf(d->base + pos, "NEW_FLOAT_EXT holds a non-finite float");
                    return -1;
                }
            }
        }
        if (dec_reserve(d, run) < 0) {
            return -1;
        }
        for (Py_ssize_t k = 0; k < run; k++) {
            const unsigned char *at = p + pos + k * stride + 1;
            PyObject *v = tag == T_SMALL_INTEGER ? PyLong_FromLong(at[0])
                          : tag == T_INTEGER     ? PyLong_FromLong((int32_t)be32(at))
                                                 : PyFloat_FromDouble(be_double(at));
            if (v == NULL) {
                return -1;
            }
            d->vals[d->nv++] = v;
        }
        pos += stride * run;
        count -= run;
        *found += run;
    }
    *ppos = pos;
    return 0;
}

/* The items from `vbase` up as a list (or HashableList), off the stack. */
static PyObject *
take_list(Dec *d, Py_ssize_t vbase, int frozen)
{
    Py_ssize_t n = d->nv - vbase;
    PyObject *list = PyList_New(n);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyList_SET_ITEM(list, i, d->vals[vbase + i]);
    }
    d->nv = vbase;
    if (!frozen) {
        return list;
    }
    PyObject *frozen_list = PyObject_CallOneArg(HashableListType, list);
    Py_DECREF(list);
    return frozen_list;
}

static PyObject *
take_tuple(Dec *d, Py_ssize_t vbase)
{
    Py_ssize_t n = d->nv - vbase;
    PyObject *tuple = PyTuple_New(n);
    if (tuple == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SET_ITEM(tuple, i, d->vals[vbase + i]);
    }
    d->nv = vbase;
    return tuple;
}

static void
convert_recursion(Dec *d, DFrame *f)
{
    if (PyErr_ExceptionMatches(PyExc_RecursionError)) {
        PyErr_Clear();
        decode_errorf(d->base + f->opened, "map key nested too deeply to hash");
    }
}

/* items[key] = value, with the pure decoder's twin-key rule and errors.
 * Consumes value and the frame's key. */
static int
map_put(Dec *d, DFrame *f, PyObject *value, Py_ssize_t start)
{
    PyObject *key = f->key;
    f->key = NULL;
    Py_ssize_t before = PyDict_GET_SIZE(f->dict);
    PyObject *got = PyDict_SetDefault(f->dict, key, value);
    int rc = 0;
    if (got == NULL) {
        convert_recursion(d, f);
        rc = -1;
    }
    else if (PyDict_GET_SIZE(f->dict) == before) { /* an equal key was there */
        PyObject *offset = PyLong_FromSsize_t(d->base + f->opened);
        PyObject *twin = offset == NULL ? NULL
                                        : PyObject_CallFunctionObjArgs(py_twin_key, f->dict, key, offset, NULL);
        Py_XDECREF(offset);
        if (twin == NULL) {
            convert_recursion(d, f);
            dec_convert_index_error(d, start);
            rc = -1;
        }
        else {
            if (PyDict_SetItem(f->dict, twin, value) < 0) {
                convert_recursion(d, f);
                rc = -1;
            }
            Py_DECREF(twin);
        }
    }
    Py_DECREF(key);
    Py_DECREF(value);
    return rc;
}

static PyObject *
finish_map(Dec *d, DFrame *f, Py_ssize_t start)
{
    PyObject *dict = f->dict;
    f->dict = NULL;
    int tagged = PyDict_Contains(dict, s_type);
    if (tagged == 0) {
        tagged = PyDict_Contains(dict, s_struct);
    }
    if (tagged < 0) {
        Py_DECREF(dict);
        return NULL;
    }
    PyObject *value;
    if (tagged) {
        PyObject *offset = PyLong_FromSsize_t(d->base + f->opened);
        value = offset == NULL ? NULL
                               : PyObject_CallFunctionObjArgs(py_finish_map, dict, f->frozen ? Py_True : Py_False,
                                                              offset, d->tag_hook, NULL);
        Py_XDECREF(offset);
        if (value == NULL) {
            dec_convert_index_error(d, start);
        }
    }
    else if (f->frozen) {
        value = PyObject_CallOneArg(FrozenMapType, dict);
    }
    else {
        return dict;
    }
    Py_DECREF(dict);
    return value;
}

static PyObject *
join_tail(Dec *d, DFrame *f, Py_ssize_t start)
{
    PyObject *items = take_list(d, f->vbase, 0);
    if (items == NULL) {
        return NULL;
    }
    PyObject *value = PyObject_CallFunctionObjArgs(py_join_tail, items, f->frozen ? Py_True : Py_False, NULL);
    Py_DECREF(items);
    if (value == NULL) {
        dec_convert_index_error(d, start);
    }
    return value;
}

/* Is the next value the "data" of a "bytes" or "tensor" map?  Then it is
 * raw bytes, never tried as UTF-8 (the pure decoder's _raw_data_slot).  The
 * BEAM writes "__type__" before "data" (keys sorted), so the tag is known. */
static int
raw_data_slot(Dec *d)
{
    if (!d->nf) {
        return 0;
    }
    DFrame *f = &d->fr[d->nf - 1];
    if (f->kind != K_MAP || f->key == NULL || !PyUnicode_Check(f->key) ||
        PyUnicode_CompareWithASCIIString(f->key, "data") != 0) {
        return 0;
    }
    PyObject *type = PyDict_GetItemWithError(f->dict, s_type); /* borrowed; str keys cannot raise */
    if (type == NULL) {
        PyErr_Clear();
        return 0;
    }
    return PyUnicode_Check(type) &&
           (PyUnicode_CompareWithASCIIString(type, "bytes") == 0 || PyUnicode_CompareWithASCIIString(type, "tensor") == 0);
}

#define IN_KEY(d)                                                                                        \
    ((d)->nf &&                                                                                          \
     ((d)->fr[(d)->nf - 1].frozen || ((d)->fr[(d)->nf - 1].kind == K_MAP && (d)->fr[(d)->nf - 1].key == NULL)))

/* Decode the term at pos (the pure _decode_term); *endpos gets the position
 * after it.  On failure the caller's dec_cleanup releases what is held. */
static PyObject *
dec_term(Dec *d, Py_ssize_t pos, Py_ssize_t *endpos)
{
    const unsigned char *p = d->p;
    const Py_ssize_t end = d->end;
    Py_ssize_t start = pos;
    PyObject *value = NULL;

    for (;;) {
        start = pos;
        if (pos >= end) {
            goto truncated;
        }
        int tag = p[pos++];
        switch (tag) {
        case T_BINARY: {
            if (end - pos < 4) {
                goto truncated;
            }
            Py_ssize_t size = (Py_ssize_t)be32(p + pos);
            pos += 4;
            if (size > end - pos) {
                decode_errorf(d->base + start, "binary of %zd bytes runs past the end", size);
                goto fail;
            }
            value = raw_data_slot(d) ? PyBytes_FromStringAndSize((const char *)p + pos, size)
                                     : make_binary(p + pos, size, IN_KEY(d));
            if (value == NULL) {
                goto fail;
            }
            pos += size;
            break;
        }
        case T_SMALL_ATOM_UTF8:
        case T_SMALL_ATOM:
        case T_ATOM:
        case T_ATOM_UTF8: {
            Py_ssize_t size;
            if (tag == T_SMALL_ATOM_UTF8 || tag == T_SMALL_ATOM) {
                if (pos >= end) {
                    goto truncated;
                }
                size = p[pos++];
            }
            else {
                if (end - pos < 2) {
                    goto truncated;
                }
                size = be16(p + pos);
                pos += 2;
            }
            if (size > end - pos) {
                decode_errorf(d->base + start, "atom of %zd bytes runs past the end", size);
                goto fail;
            }
            value = cached_atom(p + pos, size, tag == T_ATOM || tag == T_SMALL_ATOM, d->base + start);
            if (value == NULL) {
                goto fail;
            }
            pos += size;
            break;
        }
        case T_SMALL_INTEGER:
            if (pos >= end) {
                goto truncated;
            }
            value = PyLong_FromLong(p[pos++]);
            if (value == NULL) {
                goto fail;
            }
            break;
        case T_INTEGER:
            if (end - pos < 4) {
                goto truncated;
            }
            value = PyLong_FromLong((int32_t)be32(p + pos));
            if (value == NULL) {
                goto fail;
            }
            pos += 4;
            break;
        case T_NEW_FLOAT: {
            if (end - pos < 8) {
                goto truncated;
            }
            double x = be_double(p + pos);
            pos += 8;
            if (!isfinite(x)) {
                decode_errorf(d->base + start, "NEW_FLOAT_EXT holds a non-finite float");
                goto fail;
            }
            value = PyFloat_FromDouble(x);
            if (value == NULL) {
                goto fail;
            }
            break;
        }
        case T_NIL:
            value = IN_KEY(d) ? call_class0(HashableListType) : PyList_New(0);
            if (value == NULL) {
                goto fail;
            }
            break;
        case T_STRING: {
            if (end - pos < 2) {
                goto truncated;
            }
            Py_ssize_t size = be16(p + pos);
            pos += 2;
            if (size > end - pos) {
                decode_errorf(d->base + start, "string of %zd bytes runs past the end", size);
                goto fail;
            }
            PyObject *list = PyList_New(size);
            if (list == NULL) {
                goto fail;
            }
            for (Py_ssize_t i = 0; i < size; i++) {
                PyList_SET_ITEM(list, i, PyLong_FromLong(p[pos + i])); /* small ints: cached */
            }
            pos += size;
            if (IN_KEY(d)) {
                value = PyObject_CallOneArg(HashableListType, list);
                Py_DECREF(list);
            }
            else {
                value = list;
            }
            if (value == NULL) {
                goto fail;
            }
            break;
        }
        case T_MAP:
        case T_LIST:
        case T_SMALL_TUPLE:
        case T_LARGE_TUPLE: {
            Py_ssize_t count;
            if (tag == T_SMALL_TUPLE) {
                if (pos >= end) {
                    goto truncated;
                }
                count = p[pos++];
            }
            else {
                if (end - pos < 4) {
                    goto truncated;
                }
                count = (Py_ssize_t)be32(p + pos);
                pos += 4;
            }
            /* Each element takes at least one byte, each map pair two. */
            if ((tag == T_MAP ? (uint64_t)count * 2 : (uint64_t)count) > (uint64_t)(end - pos)) {
                decode_errorf(d->base + start, "%s of %zd elements runs past the end",
                              tag == T_MAP ? "map" : tag == T_LIST ? "list" : "tuple", count);
                goto fail;
            }
            int in_key = IN_KEY(d);
            Py_ssize_t vbase = d->nv;
            Py_ssize_t found = 0;
            int complete = 0;
            if (tag == T_LIST) {
                if (count >= 4 && number_run(d, &pos, count, start, &found) < 0) {
                    goto fail;
                }
                if (found == count) {
                    if (pos >= end) {
                        goto truncated;
                    }
                    if (p[pos] == T_NIL) {
                        pos++;
                        value = take_list(d, vbase, in_key);
                        complete = 1;
                    }
                }
            }
            else if (!count) {
                value = tag != T_MAP ? PyTuple_New(0) : in_key ? call_class0(FrozenMapType) : PyDict_New();
                complete = 1;
            }
            if (complete) {
                if (value == NULL) {
                    goto fail;
                }
                break;
            }
            if (d->nf >= d->max_depth) {
                decode_errorf(d->base + start, "nesting deeper than %S levels", d->max_depth_obj);
                goto fail;
            }
            DFrame *f = dec_open(d);
            if (f == NULL) {
                goto fail;
            }
            f->frozen = (unsigned char)in_key;
            f->opened = start;
            f->vbase = vbase;
            if (tag == T_LIST) {
                f->kind = found == count ? K_TAIL : K_LIST;
                f->need = found == count ? count + 1 : count;
            }
            else if (tag == T_MAP) {
                f->kind = K_MAP;
                f->need = count;
                f->dict = PyDict_New();
                if (f->dict == NULL) {
                    goto fail;
                }
            }
            else {
                f->kind = K_TUPLE;
                f->need = count;
            }
            continue;
        }
        default:
            value = dec_rare(d, tag, &pos, start);
            if (value == NULL) {
                goto fail;
            }
        }
        /* Hand the value to the containers it completes. */
        for (;;) {
            if (d->nf == 0) {
                *endpos = pos;
                return value;
            }
            DFrame *f = &d->fr[d->nf - 1];
            if (f->kind == K_MAP) {
                if (f->key == NULL) {
                    f->key = value;
                    value = NULL;
                    break;
                }
                PyObject *v = value;
                value = NULL;
                if (map_put(d, f, v, start) < 0) {
                    goto fail;
                }
                if (--f->need) {
                    break;
                }
                value = finish_map(d, f, start);
            }
            else {
                PyObject *v = value;
                value = NULL;
                if (dec_push(d, v) < 0) {
                    goto fail;
                }
                if (d->nv - f->vbase < f->need) {
                    break;
                }
                if (f->kind == K_TUPLE) {
                    value = take_tuple(d, f->vbase);
                }
                else if (f->kind == K_LIST) {
                    if (pos >= end) {
                        goto truncated;
                    }
                    if (p[pos] != T_NIL) { /* the tail is a term of its own: read it next */
                        f->kind = K_TAIL;
                        f->need++;
                        break;
                    }
                    pos++;
                    value = take_list(d, f->vbase, f->frozen);
                }
                else {
                    value = join_tail(d, f, start);
                }
            }
            if (value == NULL) {
                goto fail;
            }
            d->nf--;
        }
    }
truncated:
    decode_errorf(d->base + start, "term is truncated");
fail:
    Py_XDECREF(value);
    return NULL;
}

/* -- compressed terms (the pure _inflate) ------------------------------------ */

static void
zlib_error(z_stream *zs, int err)
{
    const char *zmsg = zs->msg;
    if (zmsg == NULL) {
        switch (err) {
        case Z_BUF_ERROR:
            zmsg = "incomplete or truncated stream";
            break;
        case Z_STREAM_ERROR:
            zmsg = "inconsistent stream state";
            break;
        case Z_DATA_ERROR:
            zmsg = "invalid input data";
            break;
        }
    }
    if (zmsg == NULL) {
        decode_errorf(6, "compressed data is corrupt: Error %d while decompressing data", err);
    }
    else {
        decode_errorf(6, "compressed data is corrupt: Error %d while decompressing data: %.200s", err, zmsg);
    }
}

/* Inflate into one buffer of the declared size, never past it.  Returns a
 * PyMem_RawMalloc'd buffer (*size_out bytes) or NULL with an error set. */
static unsigned char *
inflate_term(const unsigned char *p, Py_ssize_t n, long long max_size, PyObject *max_size_obj,
             Py_ssize_t *size_out)
{
    if (n < 6) {
        decode_errorf(2, "compressed term is truncated before its size");
        return NULL;
    }
    uint32_t size = be32(p + 2);
    if ((long long)size > max_size) {
        decode_errorf(2, "compressed term declares %lu bytes, over the %S-byte limit", (unsigned long)size,
                      max_size_obj);
        return NULL;
    }
#if PY_SSIZE_T_MAX < 0xFFFFFFFF
    if (size > (uint32_t)PY_SSIZE_T_MAX) {
        PyErr_NoMemory();
        return NULL;
    }
#endif
    unsigned char *out = PyMem_RawMalloc(size ? (size_t)size : 1);
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) {
        PyMem_RawFree(out);
        PyErr_NoMemory();
        return NULL;
    }
    const unsigned char *in = p + 6;
    Py_ssize_t in_left = n - 6;
    uint64_t filled = 0;
    unsigned char scratch[1];
    int eof = 0, err = Z_OK;
    for (;;) {
        uInt chunk_in = in_left > (Py_ssize_t)UINT_MAX ? UINT_MAX : (uInt)in_left;
        zs.next_in = (Bytef *)in;
        zs.avail_in = chunk_in;
        int spare = filled == size;
        if (spare) { /* full: one byte more means it inflates past its size */
            zs.next_out = scratch;
            zs.avail_out = 1;
        }
        else {
            zs.next_out = out + filled;
            zs.avail_out = (uInt)(size - filled);
        }
        uInt before_out = zs.avail_out;
        Py_BEGIN_ALLOW_THREADS
        err = inflate(&zs, Z_SYNC_FLUSH);
        Py_END_ALLOW_THREADS
        uInt consumed = chunk_in - zs.avail_in;
        uInt produced = before_out - zs.avail_out;
        in += consumed;
        in_left -= consumed;
        if (err != Z_OK && err != Z_BUF_ERROR && err != Z_STREAM_END) {
            zlib_error(&zs, err);
            goto fail;
        }
        if (spare && produced) {
            decode_errorf(6, "compressed data inflates to more than its declared %lu bytes", (unsigned long)size);
            goto fail;
        }
        filled += spare ? 0 : produced;
        if (err == Z_STREAM_END) {
            eof = 1;
            break;
        }
        if (!produced && (!in_left || !consumed)) {
            break;
        }
    }
    if (filled != size || !eof) {
        decode_errorf(6, "compressed data inflates to fewer than its declared %lu bytes", (unsigned long)size);
        goto fail;
    }
    if (in_left) {
        decode_errorf(6, "%zd trailing bytes after the compressed data", in_left);
        goto fail;
    }
    inflateEnd(&zs);
    *size_out = (Py_ssize_t)size;
    return out;
fail:
    inflateEnd(&zs);
    PyMem_RawFree(out);
    return NULL;
}

/* -- decode() ------------------------------------------------------------------ */

static PyObject *
decode_bytes(const unsigned char *p, Py_ssize_t n, PyObject *max_depth_obj, PyObject *max_size_obj,
             PyObject *tag_hook)
{
    int error = 0;
    Py_ssize_t max_depth = clamp_ssize(max_depth_obj, &error);
    Py_ssize_t max_size = clamp_ssize(max_size_obj, &error);
    if (error) {
        return NULL;
    }
    if (n > max_size) {
        raise_decode_error(PyUnicode_FromFormat("input of %zd bytes is over the %S-byte limit", n, max_size_obj),
                           -1);
        return NULL;
    }
    if (n < 2) {
        decode_errorf(0, "input too short for an external term");
        return NULL;
    }
    if (p[0] != T_VERSION) {
        decode_errorf(0, "version byte is %d, expected 131", p[0]);
        return NULL;
    }
    Dec d;
    Py_ssize_t pos = 0;
    PyObject *value;
    if (p[1] == T_COMPRESSED) {
        Py_ssize_t size = 0;
        unsigned char *inflated = inflate_term(p, n, max_size, max_size_obj, &size);
        if (inflated == NULL) {
            return NULL;
        }
        dec_init(&d, inflated, size, 6, max_depth, max_depth_obj, tag_hook);
        value = dec_term(&d, 0, &pos);
        dec_cleanup(&d);
        PyMem_RawFree(inflated);
        if (value != NULL && pos != size) {
            Py_DECREF(value);
            decode_errorf(6 + pos, "%zd bytes left over inside the compressed term", size - pos);
            return NULL;
        }
        return value;
    }
    dec_init(&d, p, n, 0, max_depth, max_depth_obj, tag_hook);
    value = dec_term(&d, 1, &pos);
    dec_cleanup(&d);
    if (value != NULL && pos != n) {
        Py_DECREF(value);
        decode_errorf(pos, "%zd trailing bytes after the term", n - pos);
        return NULL;
    }
    return value;
}

static PyObject *
cetf_decode(PyObject *module, PyObject *const *args, Py_ssize_t nargsf, PyObject *kwnames)
{
    PyObject *const names[3] = {s_max_depth, s_max_size, s_tag_hook};
    PyObject *got[4] = {NULL, dec_default_max_depth, dec_default_max_size, Py_None};
    if (parse_args("decode", args, nargsf, kwnames, s_data, names, 3, got) < 0) {
        return NULL;
    }
    PyObject *data = got[0];
    if (!PyLong_CheckExact(got[1]) || !PyLong_CheckExact(got[2])) {
        /* Limits that are not plain ints compare as Python compares them. */
        return PyObject_Vectorcall(py_pure_decode, args, nargsf, kwnames);
    }
    if (PyBytes_CheckExact(data)) {
        return decode_bytes((const unsigned char *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), got[1], got[2],
                            got[3]);
    }
    if (!PyBytes_Check(data) && !PyByteArray_Check(data) && !PyMemoryView_Check(data)) {
        PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(data), "__name__");
        if (name != NULL) {
            PyErr_Format(PyExc_TypeError, "decode() needs bytes, bytearray or memoryview, not %S", name);
            Py_DECREF(name);
        }
        return NULL;
    }
    /* memoryview(data).cast("B"): the pure codec's view, and its errors. */
    PyObject *view = PyMemoryView_FromObject(data);
    if (view == NULL) {
        return NULL;
    }
    PyObject *flat = PyObject_CallMethodOneArg(view, s_cast, s_B);
    Py_DECREF(view);
    if (flat == NULL) {
        return NULL;
    }
    Py_buffer buffer;
    if (PyObject_GetBuffer(flat, &buffer, PyBUF_SIMPLE) < 0) {
        Py_DECREF(flat);
        return NULL;
    }
    PyObject *value = decode_bytes(buffer.buf, buffer.len, got[1], got[2], got[3]);
    PyBuffer_Release(&buffer);
    Py_DECREF(flat);
    return value;
}

/* ========================================================================== */
/* Encoder                                                                    */
/* ========================================================================== */

/* Pieces of 64 KiB or more are kept apart (written with writev, joined only
 * by encode()). */
#define BIG_PIECE (64 * 1024)
#define ENC_INLINE_BYTES 1024
#define ENC_INLINE_FRAMES 32

typedef struct {
    PyObject *owner;  /* strong */
    Py_buffer view;   /* held when has_view */
    int has_view;
    int as_bytes;     /* owner is text: a piece is a bytes copy of data */
    const char *data;
    Py_ssize_t size;
    Py_ssize_t at;    /* goes before this offset of the small buffer */
} Big;

enum { E_TOP, E_LIST, E_TUPLE, E_DICT, E_ITER };

typedef struct {
    int kind;
    int suffix_nil;
    PyObject *obj;     /* strong */
    PyObject *pending; /* E_DICT: the value after the key just given */
    Py_ssize_t i, n, left;
} EFrame;

typedef struct {
    unsigned char *buf;
    Py_ssize_t len, cap;
    Big *bigs;
    Py_ssize_t nbig, cbig, bigbytes;
    EFrame *fr;
    Py_ssize_t nf, cf;
    Py_ssize_t max_depth;
    PyObject *max_depth_obj;
    PyObject *default_;
    PyObject *scratch, *scratch_append;
    unsigned char buf_inline[ENC_INLINE_BYTES];
    EFrame fr_inline[ENC_INLINE_FRAMES];
} Enc;

static void
enc_init(Enc *e, Py_ssize_t max_depth, PyObject *max_depth_obj, PyObject *default_)
{
    e->buf = e->buf_inline;
    e->len = 0;
    e->cap = ENC_INLINE_BYTES;
    e->bigs = NULL;
    e->nbig = e->cbig = e->bigbytes = 0;
    e->fr = e->fr_inline;
    e->nf = 0;
    e->cf = ENC_INLINE_FRAMES;
    e->max_depth = max_depth;
    e->max_depth_obj = max_depth_obj;
    e->default_ = default_;
    e->scratch = e->scratch_append = NULL;
}

static void
enc_cleanup(Enc *e)
{
    for (Py_ssize_t i = 0; i < e->nf; i++) {
        Py_XDECREF(e->fr[i].obj);
        Py_XDECREF(e->fr[i].pending);
    }
    e->nf = 0;
    for (Py_ssize_t i = 0; i < e->nbig; i++) {
        if (e->bigs[i].has_view) {
            PyBuffer_Release(&e->bigs[i].view);
        }
        Py_DECREF(e->bigs[i].owner);
    }
    e->nbig = 0;
    PyMem_Free(e->bigs);
    e->bigs = NULL;
    if (e->buf != e->buf_inline) {
        PyMem_Free(e->buf);
        e->buf = e->buf_inline;
    }
    if (e->fr != e->fr_inline) {
        PyMem_Free(e->fr);
        e->fr = e->fr_inline;
    }
    Py_CLEAR(e->scratch);
    Py_CLEAR(e->scratch_append);
}

static int
enc_grow(Enc *e, Py_ssize_t more)
{
    Py_ssize_t want = e->cap;
    while (want - e->len < more) {
        if (want > PY_SSIZE_T_MAX / 2) {
            PyErr_NoMemory();
            return -1;
        }
        want *= 2;
    }
    unsigned char *grown;
    if (e->buf == e->buf_inline) {
        grown = PyMem_Malloc((size_t)want);
        if (grown != NULL) {
            memcpy(grown, e->buf, (size_t)e->len);
        }
    }
    else {
        grown = PyMem_Realloc(e->buf, (size_t)want);
    }
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    e->buf = grown;
    e->cap = want;
    return 0;
}

/* Room for `more` bytes; returns where to write them. */
static inline unsigned char *
enc_room(Enc *e, Py_ssize_t more)
{
    if (e->cap - e->len < more && enc_grow(e, more) < 0) {
        return NULL;
    }
    return e->buf + e->len;
}

static inline int
enc_bytes(Enc *e, const void *data, Py_ssize_t n)
{
    unsigned char *at = enc_room(e, n);
    if (at == NULL) {
        return -1;
    }
    if (n) {
        memcpy(at, data, (size_t)n);
    }
    e->len += n;
    return 0;
}

static inline int
enc_head_bi(Enc *e, int tag, Py_ssize_t n)
{
    if (check_u32(n) < 0) {
        return -1;
    }
    unsigned char *at = enc_room(e, 5);
    if (at == NULL) {
        return -1;
    }
    at[0] = (unsigned char)tag;
    put_be32(at + 1, (uint32_t)n);
    e->len += 5;
    return 0;
}

/* Keep a big piece apart; takes a new reference to owner.  view (if any)
 * is moved in. */
static int
enc_big(Enc *e, PyObject *owner, Py_buffer *view, int as_bytes, const char *data, Py_ssize_t size)
{
    if (e->nbig == e->cbig) {
        Py_ssize_t want = e->cbig ? e->cbig * 2 : 8;
        Big *grown = PyMem_Realloc(e->bigs, (size_t)want * sizeof(Big));
        if (grown == NULL) {
            if (view != NULL) {
                PyBuffer_Release(view);
            }
            PyErr_NoMemory();
            return -1;
        }
        e->bigs = grown;
        e->cbig = want;
    }
    Big *b = &e->bigs[e->nbig++];
    b->owner = Py_NewRef(owner);
    b->has_view = view != NULL;
    if (view != NULL) {
        b->view = *view;
    }
    b->as_bytes = as_bytes;
    b->data = data;
    b->size = size;
    b->at = e->len;
    e->bigbytes += size;
    return 0;
}

static const unsigned char ATOM_NIL[] = {T_SMALL_ATOM_UTF8, 3, 'n', 'i', 'l'};
static const unsigned char ATOM_TRUE[] = {T_SMALL_ATOM_UTF8, 4, 't', 'r', 'u', 'e'};
static const unsigned char ATOM_FALSE[] = {T_SMALL_ATOM_UTF8, 5, 'f', 'a', 'l', 's', 'e'};
static const unsigned char ATOM_NAN[] = {T_SMALL_ATOM_UTF8, 3, 'n', 'a', 'n'};
static const unsigned char ATOM_INFINITY[] = {T_SMALL_ATOM_UTF8, 8, 'i', 'n', 'f', 'i', 'n', 'i', 't', 'y'};
static const unsigned char ATOM_NEG_INFINITY[] = {T_SMALL_ATOM_UTF8, 12, 'n', 'e', 'g', '_', 'i', 'n',
                                                  'f', 'i', 'n', 'i', 't', 'y'};

static inline void
put_double(unsigned char *at, double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    for (int i = 7; i >= 0; i--) {
        at[i] = (unsigned char)u;
        u >>= 8;
    }
}

static int
enc_float(Enc *e, double x)
{
    if (isfinite(x)) {
        unsigned char *at = enc_room(e, 9);
        if (at == NULL) {
            return -1;
        }
        at[0] = T_NEW_FLOAT;
        put_double(at + 1, x);
        e->len += 9;
        return 0;
    }
    if (isnan(x)) {
        return enc_bytes(e, ATOM_NAN, sizeof ATOM_NAN);
    }
    return x > 0 ? enc_bytes(e, ATOM_INFINITY, sizeof ATOM_INFINITY)
                 : enc_bytes(e, ATOM_NEG_INFINITY, sizeof ATOM_NEG_INFINITY);
}

/* Copy what Python helpers appended (bytes-like pieces) into the output. */
static int
enc_drain(Enc *e)
{
    Py_ssize_t n = PyList_GET_SIZE(e->scratch);
    int rc = 0;
    for (Py_ssize_t i = 0; i < n && rc == 0; i++) {
        PyObject *piece = PyList_GET_ITEM(e->scratch, i);
        if (PyBytes_CheckExact(piece)) {
            Py_ssize_t size = PyBytes_GET_SIZE(piece);
            rc = size >= BIG_PIECE ? enc_big(e, piece, NULL, 0, PyBytes_AS_STRING(piece), size)
                                   : enc_bytes(e, PyBytes_AS_STRING(piece), size);
            continue;
        }
        Py_buffer view;
        if (PyObject_GetBuffer(piece, &view, PyBUF_SIMPLE) < 0) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "sequence item %zd: expected a bytes-like object, %.80s found", i,
                         Py_TYPE(piece)->tp_name);
            rc = -1;
        }
        else if (view.len >= BIG_PIECE) {
            rc = enc_big(e, piece, &view, 0, view.buf, view.len);
        }
        else {
            rc = enc_bytes(e, view.buf, view.len);
            PyBuffer_Release(&view);
        }
    }
    if (PyList_SetSlice(e->scratch, 0, n, NULL) < 0) {
        rc = -1;
    }
    return rc;
}

static int
enc_push(Enc *e, int kind, PyObject *obj, Py_ssize_t n, int suffix_nil)
{
    if (e->nf == e->cf) {
        if (e->cf > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(EFrame)) {
            PyErr_NoMemory();
            return -1;
        }
        Py_ssize_t want = e->cf * 2;
        EFrame *grown;
        if (e->fr == e->fr_inline) {
            grown = PyMem_Malloc((size_t)want * sizeof(EFrame));
            if (grown != NULL) {
                memcpy(grown, e->fr, (size_t)e->nf * sizeof(EFrame));
            }
        }
        else {
            grown = PyMem_Realloc(e->fr, (size_t)want * sizeof(EFrame));
        }
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        e->fr = grown;
        e->cf = want;
    }
    EFrame *f = &e->fr[e->nf++];
    f->kind = kind;
    f->suffix_nil = suffix_nil;
    f->obj = Py_NewRef(obj);
    f->pending = NULL;
    f->i = 0;
    f->n = n;
    f->left = n;
    return 0;
}

static int
depth_check(Enc *e, PyObject *culprit)
{
    if (e->nf - 1 >= e->max_depth) {
        encode_errorf(culprit, "nesting deeper than %S levels (a cycle?)", e->max_depth_obj);
        return -1;
    }
    return 0;
}

/* The next element of the innermost open container (new ref), or NULL:
 * exhausted (no error set) or failed. */
static PyObject *
enc_next(EFrame *f)
{
    switch (f->kind) {
    case E_TOP:
        if (f->i++ == 0) {
            return Py_NewRef(f->obj);
        }
        return NULL;
    case E_LIST:
        if (f->i < PyList_GET_SIZE(f->obj)) { /* as a list iterator: sees appends */
            return Py_NewRef(PyList_GET_ITEM(f->obj, f->i++));
        }
        return NULL;
    case E_TUPLE:
        if (f->i < f->n) {
            return Py_NewRef(PyTuple_GET_ITEM(f->obj, f->i++));
        }
        return NULL;
    case E_DICT: {
        if (f->pending != NULL) {
            PyObject *value = f->pending;
            f->pending = NULL;
            return value;
        }
        if (PyDict_GET_SIZE(f->obj) != f->n) { /* as a dict items iterator */
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            return NULL;
        }
        PyObject *key, *value;
        if (!PyDict_Next(f->obj, &f->i, &key, &value)) {
            return NULL;
        }
        if (f->left-- <= 0) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary keys changed during iteration");
            return NULL;
        }
        f->pending = Py_NewRef(value);
        return Py_NewRef(key);
    }
    default:
        return PyIter_Next(f->obj);
    }
}

static int
enc_str(Enc *e, PyObject *obj)
{
    const char *data;
    Py_ssize_t n;
    PyObject *owned = NULL;
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(obj) < 0) {
        return -1;
    }
#endif
    if (PyUnicode_IS_COMPACT_ASCII(obj)) {
        data = (const char *)PyUnicode_DATA(obj);
        n = PyUnicode_GET_LENGTH(obj);
    }
    else if (PyUnicode_GET_LENGTH(obj) < BIG_PIECE / 4) { /* small: UTF-8 kept with the str */
        data = PyUnicode_AsUTF8AndSize(obj, &n);
    }
    else { /* big: a temporary copy, as str.encode() */
        owned = PyUnicode_AsUTF8String(obj);
        data = owned == NULL ? NULL : PyBytes_AS_STRING(owned);
        n = owned == NULL ? 0 : PyBytes_GET_SIZE(owned);
    }
    if (data == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            encode_errorf(obj, "string holds a lone surrogate, not valid Unicode");
        }
        return -1;
    }
    int rc = enc_head_bi(e, T_BINARY, n);
    if (rc == 0) {
        if (n < BIG_PIECE) {
            rc = enc_bytes(e, data, n);
        }
        else if (owned != NULL) {
            rc = enc_big(e, owned, NULL, 0, data, n);
        }
        else {
            rc = enc_big(e, obj, NULL, 1, data, n);
        }
    }
    Py_XDECREF(owned);
    return rc;
}

static int
enc_atom(Enc *e, PyObject *obj)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(obj) < 0) {
        return -1;
    }
#endif
    Py_ssize_t chars = PyUnicode_GET_LENGTH(obj);
    if (chars > 255) {
        encode_errorf(obj, "atom of %zd characters is over the BEAM's 255 limit", chars);
        return -1;
    }
    Py_ssize_t n;
    const char *data = PyUnicode_AsUTF8AndSize(obj, &n);
    if (data == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            encode_errorf(obj, "atom holds a lone surrogate, not valid Unicode");
        }
        return -1;
    }
    unsigned char *at = enc_room(e, n + 3);
    if (at == NULL) {
        return -1;
    }
    if (n < 256) {
        at[0] = T_SMALL_ATOM_UTF8;
        at[1] = (unsigned char)n;
        memcpy(at + 2, data, (size_t)n);
        e->len += n + 2;
    }
    else {
        at[0] = T_ATOM_UTF8;
        at[1] = (unsigned char)(n >> 8);
        at[2] = (unsigned char)n;
        memcpy(at + 3, data, (size_t)n);
        e->len += n + 3;
    }
    return 0;
}

static int
enc_int(Enc *e, PyObject *obj)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (!overflow) {
        if (v == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (v >= 0 && v < 256) {
            unsigned char *at = enc_room(e, 2);
            if (at == NULL) {
                return -1;
            }
            at[0] = T_SMALL_INTEGER;
            at[1] = (unsigned char)v;
            e->len += 2;
            return 0;
        }
        if (v >= -2147483648LL && v < 2147483648LL) {
            unsigned char *at = enc_room(e, 5);
            if (at == NULL) {
                return -1;
            }
            at[0] = T_INTEGER;
            put_be32(at + 1, (uint32_t)(int32_t)v);
            e->len += 5;
            return 0;
        }
        unsigned long long m = v < 0 ? (unsigned long long)(-(v + 1)) + 1u : (unsigned long long)v;
        unsigned char *at = enc_room(e, 11);
        if (at == NULL) {
            return -1;
        }
        int size = 0;
        at[0] = T_SMALL_BIG;
        at[2] = v < 0;
        while (m) {
            at[3 + size++] = (unsigned char)m;
            m >>= 8;
        }
        at[1] = (unsigned char)size;
        e->len += 3 + size;
        return 0;
    }
    PyObject *raw = PyObject_CallOneArg(py_big, obj);
    if (raw == NULL) {
        return -1;
    }
    int rc;
    if (!PyBytes_Check(raw)) {
        PyErr_SetString(PyExc_TypeError, "_big() must return bytes");
        rc = -1;
    }
    else if (PyBytes_GET_SIZE(raw) >= BIG_PIECE) {
        rc = enc_big(e, raw, NULL, 0, PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw));
    }
    else {
        rc = enc_bytes(e, PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw));
    }
    Py_DECREF(raw);
    return rc;
}

/* Types whose __index__ is known absent: bytes() refuses them at once. */
static int
no_index(PyTypeObject *t)
{
    return t == &PyFloat_Type || t == &PyUnicode_Type || t == &PyBytes_Type || t == &PyList_Type ||
           t == &PyTuple_Type || t == &PyDict_Type || t == Py_TYPE(Py_None) || t == (PyTypeObject *)AtomType ||
           t == (PyTypeObject *)HashableListType || t == (PyTypeObject *)FrozenMapType;
}

/* The pure _packed_list: 1 written as STRING or bulk LIST, 0 not, -1 error. */
static int
enc_packed_list(Enc *e, PyObject *obj, Py_ssize_t size)
{
    PyObject **items = PyList_Check(obj) ? ((PyListObject *)obj)->ob_item : ((PyTupleObject *)obj)->ob_item;
    PyObject *first = items[0];
    if (Py_TYPE(first) == &PyLong_Type) {
        int overflow;
        long v = PyLong_AsLongAndOverflow(first, &overflow);
        if (!overflow && v >= 0 && v < 256 && size <= 65535) {
            /* _byte_list: STRING when every element is an exact int 0..255. */
            int all = 1, must_ask = 0;
            for (Py_ssize_t i = 0; i < size; i++) {
                PyObject *item = items[i];
                if (Py_TYPE(item) == &PyLong_Type) {
                    long b = PyLong_AsLongAndOverflow(item, &overflow);
                    if (!overflow && b >= 0 && b < 256) {
                        continue;
                    }
                    all = 0; /* bytes() raises ValueError here: nothing else runs */
                    break;
                }
                if (Py_TYPE(item) == &PyBool_Type) {
                    all = 0; /* fine for bytes(), but not {int}: keep looking */
                    continue;
                }
                all = 0;
                if (!no_index(Py_TYPE(item))) {
                    must_ask = 1; /* __index__ may run: let bytes() do exactly that */
                }
                break;
            }
            if (all) {
                unsigned char *at = enc_room(e, 3 + size);
                if (at == NULL) {
                    return -1;
                }
                at[0] = T_STRING;
                at[1] = (unsigned char)(size >> 8);
                at[2] = (unsigned char)size;
                for (Py_ssize_t i = 0; i < size; i++) {
                    at[3 + i] = (unsigned char)PyLong_AsLong(items[i]);
                }
                e->len += 3 + size;
                return 1;
            }
            if (must_ask) {
                PyObject *raw = PyObject_CallOneArg((PyObject *)&PyBytes_Type, obj);
                if (raw == NULL) {
                    if (!PyErr_ExceptionMatches(PyExc_TypeError) && !PyErr_ExceptionMatches(PyExc_ValueError)) {
                        return -1;
                    }
                    PyErr_Clear();
                }
                Py_XDECREF(raw); /* success: the types are not all int */
            }
            /* the list may have changed under __index__ */
            size = PyList_Check(obj) ? PyList_GET_SIZE(obj) : size;
            items = PyList_Check(obj) ? ((PyListObject *)obj)->ob_item : items;
        }
    }
    if (size < 16) {
        return 0;
    }
    /* _bulk_numbers: only exact ints in int32 range, or only finite floats. */
    PyTypeObject *kind = Py_TYPE(items[0]);
    if (kind != &PyLong_Type && kind != &PyFloat_Type) {
        return 0;
    }
    for (Py_ssize_t i = 1; i < size; i++) {
        if (Py_TYPE(items[i]) != kind) {
            return 0;
        }
    }
    if (kind == &PyLong_Type) {
        for (Py_ssize_t i = 0; i < size; i++) {
            int overflow;
            long long v = PyLong_AsLongLongAndOverflow(items[i], &overflow);
            if (overflow || v < -2147483648LL || v >= 2147483648LL) {
                return 0;
            }
        }
    }
    else {
        for (Py_ssize_t i = 0; i < size; i++) {
            if (!isfinite(PyFloat_AS_DOUBLE(items[i]))) {
                return 0;
            }
        }
    }
    Py_ssize_t stride = kind == &PyLong_Type ? 5 : 9;
    if (check_u32(size) < 0) {
        return -1;
    }
    if (size > (PY_SSIZE_T_MAX - 6) / stride) {
        PyErr_NoMemory();
        return -1;
    }
    unsigned char *at = enc_room(e, 6 + stride * size);
    if (at == NULL) {
        return -1;
    }
    at[0] = T_LIST;
    put_be32(at + 1, (uint32_t)size);
    at += 5;
    if (kind == &PyLong_Type) {
        for (Py_ssize_t i = 0; i < size; i++, at += 5) {
            at[0] = T_INTEGER;
            put_be32(at + 1, (uint32_t)(int32_t)PyLong_AsLong(items[i]));
        }
    }
    else {
        for (Py_ssize_t i = 0; i < size; i++, at += 9) {
            at[0] = T_NEW_FLOAT;
            put_double(at + 1, PyFloat_AS_DOUBLE(items[i]));
        }
    }
    at[0] = T_NIL;
    e->len += 6 + stride * size;
    return 1;
}

static int
enc_other(Enc *e, PyObject *obj)
{
    if (e->scratch == NULL) {
        e->scratch = PyList_New(0);
        if (e->scratch == NULL) {
            return -1;
        }
        e->scratch_append = PyObject_GetAttrString(e->scratch, "append");
        if (e->scratch_append == NULL) {
            return -1;
        }
    }
    PyObject *args[3] = {obj, e->scratch_append, e->default_};
    PyObject *replacement = PyObject_Vectorcall(py_other, args, 3, NULL);
    int rc = enc_drain(e);
    if (replacement == NULL || rc < 0) {
        Py_XDECREF(replacement);
        return -1;
    }
    if (replacement != py_done) {
        rc = depth_check(e, obj);
        if (rc == 0) {
            rc = enc_push(e, E_ITER, replacement, 0, 0);
        }
    }
    Py_DECREF(replacement);
    return rc;
}

static int
keys_safe(PyObject *dict)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        PyTypeObject *t = Py_TYPE(key);
        if (t != &PyUnicode_Type && t != &PyLong_Type && t != (PyTypeObject *)AtomType) {
            return 0;
        }
    }
    return 1;
}

static int
enc_one(Enc *e, PyObject *obj)
{
    PyTypeObject *t = Py_TYPE(obj);
    if (t == &PyUnicode_Type) {
        return enc_str(e, obj);
    }
    if (t == &PyLong_Type) {
        return enc_int(e, obj);
    }
    if (t == &PyDict_Type || t == (PyTypeObject *)FrozenMapType) {
        PyObject *dict = t == &PyDict_Type ? Py_NewRef(obj) : PyObject_GetAttr(obj, s_items);
        if (dict == NULL) {
            return -1;
        }
        if (!PyDict_Check(dict)) {
            Py_DECREF(dict);
            PyErr_SetString(PyExc_TypeError, "FrozenMap._items must be a dict");
            return -1;
        }
        Py_ssize_t n = PyDict_GET_SIZE(dict);
        int rc = enc_head_bi(e, T_MAP, n);
        if (rc == 0 && n) {
            if (!keys_safe(dict)) {
                PyObject *args[3] = {obj, e->default_, e->max_depth_obj};
                PyObject *r = PyObject_Vectorcall(py_check_distinct_keys, args, 3, NULL);
                rc = r == NULL ? -1 : 0;
                Py_XDECREF(r);
            }
            if (rc == 0) {
                rc = depth_check(e, obj);
            }
            if (rc == 0) {
                rc = enc_push(e, E_DICT, dict, PyDict_GET_SIZE(dict), 0);
            }
        }
        Py_DECREF(dict);
        return rc;
    }
    if (t == &PyList_Type || t == (PyTypeObject *)HashableListType) {
        Py_ssize_t size = Py_SIZE(obj);
        if (!size) {
            return enc_bytes(e, "\x6a", 1);
        }
        int packed = enc_packed_list(e, obj, size);
        if (packed) {
            return packed < 0 ? -1 : 0;
        }
        if (depth_check(e, obj) < 0 || enc_head_bi(e, T_LIST, size) < 0) {
            return -1;
        }
        return t == &PyList_Type ? enc_push(e, E_LIST, obj, size, 1) : enc_push(e, E_TUPLE, obj, size, 1);
    }
    if (t == &PyFloat_Type) {
        return enc_float(e, PyFloat_AS_DOUBLE(obj));
    }
    if (t == (PyTypeObject *)AtomType) {
        return enc_atom(e, obj);
    }
    if (t == &PyTuple_Type) {
        Py_ssize_t size = PyTuple_GET_SIZE(obj);
        if (size < 256) {
            unsigned char head[2] = {T_SMALL_TUPLE, (unsigned char)size};
            if (enc_bytes(e, head, 2) < 0) {
                return -1;
            }
        }
        else if (enc_head_bi(e, T_LARGE_TUPLE, size) < 0) {
            return -1;
        }
        if (!size) {
            return 0;
        }
        if (depth_check(e, obj) < 0) {
            return -1;
        }
        return enc_push(e, E_TUPLE, obj, size, 0);
    }
    if (obj == Py_None) {
        return enc_bytes(e, ATOM_NIL, sizeof ATOM_NIL);
    }
    if (t == &PyBool_Type) {
        return obj == Py_True ? enc_bytes(e, ATOM_TRUE, sizeof ATOM_TRUE)
                              : enc_bytes(e, ATOM_FALSE, sizeof ATOM_FALSE);
    }
    if (t == &PyBytes_Type) {
        Py_ssize_t n = PyBytes_GET_SIZE(obj);
        if (enc_head_bi(e, T_BINARY, n) < 0) {
            return -1;
        }
        return n >= BIG_PIECE ? enc_big(e, obj, NULL, 0, PyBytes_AS_STRING(obj), n)
                              : enc_bytes(e, PyBytes_AS_STRING(obj), n);
    }
    if ((t == (PyTypeObject *)PidType || t == (PyTypeObject *)ReferenceType || t == (PyTypeObject *)PortType ||
         t == (PyTypeObject *)FunType || t == (PyTypeObject *)OpaqueType) &&
        descr_raw != NULL) {
        PyObject *raw = Py_TYPE(descr_raw)->tp_descr_get(descr_raw, obj, (PyObject *)t);
        if (raw == NULL) {
            return -1;
        }
        int rc = 1;
        if (PyBytes_CheckExact(raw)) {
            Py_ssize_t n = PyBytes_GET_SIZE(raw);
            rc = n >= BIG_PIECE ? enc_big(e, raw, NULL, 0, PyBytes_AS_STRING(raw), n)
                                : enc_bytes(e, PyBytes_AS_STRING(raw), n);
        }
        Py_DECREF(raw);
        if (rc <= 0) {
            return rc;
        }
    }
    return enc_other(e, obj);
}

static int
enc_run(Enc *e, PyObject *term)
{
    if (enc_push(e, E_TOP, term, 1, 0) < 0) {
        return -1;
    }
    for (;;) {
        EFrame *f = &e->fr[e->nf - 1];
        PyObject *obj = enc_next(f);
        if (obj == NULL) {
            if (PyErr_Occurred()) {
                return -1;
            }
            f = &e->fr[e->nf - 1];
            if (f->suffix_nil && enc_bytes(e, "\x6a", 1) < 0) {
                return -1;
            }
            e->nf--;
            Py_CLEAR(f->obj);
            Py_CLEAR(f->pending);
            if (e->nf == 0) {
                return 0;
            }
            continue;
        }
        int rc = enc_one(e, obj);
        Py_DECREF(obj);
        if (rc < 0) {
            return -1;
        }
    }
}

/* The whole frame as one bytes object (one copy of each big piece). */
static PyObject *
enc_joined(Enc *e)
{
    if (e->nbig == 0) {
        return PyBytes_FromStringAndSize((const char *)e->buf, e->len);
    }
    if (e->bigbytes > PY_SSIZE_T_MAX - e->len) {
        return PyErr_NoMemory();
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, e->len + e->bigbytes);
    if (out == NULL) {
        return NULL;
    }
    char *at = PyBytes_AS_STRING(out);
    Py_ssize_t done = 0;
    for (Py_ssize_t i = 0; i < e->nbig; i++) {
        Big *b = &e->bigs[i];
        memcpy(at, e->buf + done, (size_t)(b->at - done));
        at += b->at - done;
        done = b->at;
        memcpy(at, b->data, (size_t)b->size);
        at += b->size;
    }
    memcpy(at, e->buf + done, (size_t)(e->len - done));
    return out;
}

/* The frame as pieces: runs of small data joined, big pieces as themselves. */
static PyObject *
enc_pieces(Enc *e)
{
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }
    Py_ssize_t done = 0;
    for (Py_ssize_t i = 0; i <= e->nbig; i++) {
        Py_ssize_t upto = i < e->nbig ? e->bigs[i].at : e->len;
        if (upto > done) {
            PyObject *chunk = PyBytes_FromStringAndSize((const char *)e->buf + done, upto - done);
            if (chunk == NULL || PyList_Append(list, chunk) < 0) {
                Py_XDECREF(chunk);
                Py_DECREF(list);
                return NULL;
            }
            Py_DECREF(chunk);
            done = upto;
        }
        if (i == e->nbig) {
            break;
        }
        Big *b = &e->bigs[i];
        PyObject *piece = b->as_bytes ? PyBytes_FromStringAndSize(b->data, b->size) : Py_NewRef(b->owner);
        if (piece == NULL || PyList_Append(list, piece) < 0) {
            Py_XDECREF(piece);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(piece);
    }
    return list;
}

/* An EncodeError with a culprit and no path gets the culprit's path. */
static void
locate_error(PyObject *term)
{
    if (!PyErr_ExceptionMatches(EncodeError)) {
        return;
    }
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    PyObject *path = NULL, *culprit = NULL, *reason = NULL, *where = NULL, *fresh = NULL;
    path = PyObject_GetAttr(exc, s_path);
    if (path == NULL) {
        goto fail;
    }
    int has_path = PyObject_IsTrue(path);
    if (has_path < 0) {
        goto fail;
    }
    culprit = PyObject_GetAttr(exc, s_culprit);
    if (culprit == NULL) {
        goto fail;
    }
    if (has_path || culprit == Py_None) {
        Py_DECREF(path);
        Py_DECREF(culprit);
        PyErr_Restore(type, exc, tb);
        return;
    }
    reason = PyObject_GetAttr(exc, s_reason);
    if (reason == NULL) {
        goto fail;
    }
    where = PyObject_CallFunctionObjArgs(py_locate, term, culprit, NULL);
    if (where == NULL) {
        goto fail;
    }
    fresh = PyObject_CallFunctionObjArgs(EncodeError, reason, where, NULL);
    if (fresh == NULL) {
        goto fail;
    }
    PyException_SetCause(fresh, NULL); /* raise ... from None */
    PyErr_SetObject((PyObject *)Py_TYPE(fresh), fresh);
fail:
    Py_XDECREF(type);
    Py_XDECREF(exc);
    Py_XDECREF(tb);
    Py_XDECREF(path);
    Py_XDECREF(culprit);
    Py_XDECREF(reason);
    Py_XDECREF(where);
    Py_XDECREF(fresh);
}

static PyObject *
encode_common(const char *fname, PyObject *const *args, Py_ssize_t nargsf, PyObject *kwnames, int want_pieces)
{
    PyObject *const names[4] = {s_default, s_compress_above, s_compress_level, s_max_depth};
    PyObject *got[5] = {NULL, Py_None, Py_None, default_compress_level, enc_default_max_depth};
    if (parse_args(fname, args, nargsf, kwnames, s_term, names, 4, got) < 0) {
        return NULL;
    }
    PyObject *term = got[0], *default_ = got[1], *compress_above = got[2], *compress_level = got[3];
    if (!PyLong_CheckExact(got[4])) { /* a limit that is not a plain int compares as Python does */
        return PyObject_Vectorcall(want_pieces ? py_pure_encode_pieces : py_pure_encode, args, nargsf, kwnames);
    }
    int error = 0;
    Py_ssize_t max_depth = clamp_ssize(got[4], &error);
    if (error) {
        return NULL;
    }
    Enc e;
    enc_init(&e, max_depth, got[4], default_);
    PyObject *result = NULL;
    if (enc_bytes(&e, "\x83", 1) < 0 || enc_run(&e, term) < 0) {
        enc_cleanup(&e);
        locate_error(term);
        return NULL;
    }
    if (compress_above != Py_None) {
        Py_ssize_t size = e.len + e.bigbytes - 1;
        PyObject *size_obj = PyLong_FromSsize_t(size);
        int over = size_obj == NULL ? -1 : PyObject_RichCompareBool(size_obj, compress_above, Py_GT);
        Py_XDECREF(size_obj);
        if (over < 0) {
            goto done;
        }
        if (over) {
            PyObject *body = enc_joined(&e);
            if (body == NULL) {
                goto done;
            }
            PyObject *view = PyMemoryView_FromMemory(PyBytes_AS_STRING(body) + 1, size, PyBUF_READ);
            PyObject *packed =
                view == NULL ? NULL : PyObject_CallFunctionObjArgs(py_zlib_compress, view, compress_level, NULL);
            Py_XDECREF(view);
            if (packed == NULL) {
                Py_DECREF(body);
                goto done;
            }
            if (!PyBytes_Check(packed)) {
                PyErr_SetString(PyExc_TypeError, "zlib.compress() must return bytes");
                Py_DECREF(packed);
                Py_DECREF(body);
                goto done;
            }
            if (PyBytes_GET_SIZE(packed) + 5 < size) {
                Py_DECREF(body);
                if (check_u32(size) < 0) {
                    Py_DECREF(packed);
                    goto done;
                }
                unsigned char head[6] = {T_VERSION, T_COMPRESSED};
                put_be32(head + 2, (uint32_t)size);
                if (want_pieces) {
                    PyObject *h = PyBytes_FromStringAndSize((const char *)head, 6);
                    result = h == NULL ? NULL : PyList_New(2);
                    if (result == NULL) {
                        Py_XDECREF(h);
                        Py_DECREF(packed);
                        goto done;
                    }
                    PyList_SET_ITEM(result, 0, h);
                    PyList_SET_ITEM(result, 1, packed);
                }
                else {
                    result = PyBytes_FromStringAndSize(NULL, 6 + PyBytes_GET_SIZE(packed));
                    if (result != NULL) {
                        memcpy(PyBytes_AS_STRING(result), head, 6);
                        memcpy(PyBytes_AS_STRING(result) + 6, PyBytes_AS_STRING(packed),
                               (size_t)PyBytes_GET_SIZE(packed));
                    }
                    Py_DECREF(packed);
                }
                goto done;
            }
            Py_DECREF(packed);
            if (!want_pieces) {
                result = body;
                goto done;
            }
            Py_DECREF(body);
        }
    }
    result = want_pieces ? enc_pieces(&e) : enc_joined(&e);
done:
    enc_cleanup(&e);
    return result;
}

static PyObject *
cetf_encode(PyObject *module, PyObject *const *args, Py_ssize_t nargsf, PyObject *kwnames)
{
    return encode_common("encode", args, nargsf, kwnames, 0);
}

static PyObject *
cetf_encode_pieces(PyObject *module, PyObject *const *args, Py_ssize_t nargsf, PyObject *kwnames)
{
    return encode_common("encode_pieces", args, nargsf, kwnames, 1);
}

/* ========================================================================== */
/* Module                                                                     */
/* ========================================================================== */

PyDoc_STRVAR(decode_doc,
             "decode(data, *, max_depth=10000, max_size=1 << 30, tag_hook=None)\n--\n\n"
             "Decode one complete external term; the pure decoder's behaviour, natively.");
PyDoc_STRVAR(encode_doc,
             "encode(term, *, default=None, compress_above=None, compress_level=6, max_depth=10000)\n--\n\n"
             "Encode a term as one external term; the pure encoder's behaviour, natively.");
PyDoc_STRVAR(encode_pieces_doc,
             "encode_pieces(term, *, default=None, compress_above=None, compress_level=6, max_depth=10000)\n--\n\n"
             "encode(), as byte pieces: big binaries stay the objects they were.");

static PyMethodDef cetf_methods[] = {
    {"decode", (PyCFunction)(void (*)(void))cetf_decode, METH_FASTCALL | METH_KEYWORDS, decode_doc},
    {"encode", (PyCFunction)(void (*)(void))cetf_encode, METH_FASTCALL | METH_KEYWORDS, encode_doc},
    {"encode_pieces", (PyCFunction)(void (*)(void))cetf_encode_pieces, METH_FASTCALL | METH_KEYWORDS,
     encode_pieces_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cetf_module = {
    PyModuleDef_HEAD_INIT, "snakeport.core.etf._cetf",
    "Native ETF codec with the pure codec's exact behaviour.", -1, cetf_methods,
};

static int
take(PyObject *module, const char *name, PyObject **slot)
{
    *slot = PyObject_GetAttrString(module, name);
    return *slot == NULL ? -1 : 0;
}

static int
intern(const char *text, PyObject **slot)
{
    *slot = PyUnicode_InternFromString(text);
    return *slot == NULL ? -1 : 0;
}

/* A class's own member descriptor, or NULL (then the class is called). */
static PyObject *
member(PyObject *cls, const char *name)
{
    PyObject *dict = ((PyTypeObject *)cls)->tp_dict;
    PyObject *descr = dict == NULL ? NULL : PyDict_GetItemString(dict, name);
    if (descr == NULL || Py_TYPE(descr)->tp_descr_set == NULL || Py_TYPE(descr)->tp_descr_get == NULL) {
        return NULL;
    }
    return Py_NewRef(descr);
}

PyMODINIT_FUNC
PyInit__cetf(void)
{
    PyObject *terms = NULL, *errors = NULL, *decoder = NULL, *encoder = NULL, *tagged = NULL, *tags = NULL;
    PyObject *structmod = NULL, *zlibmod = NULL, *node_bound = NULL;
    PyObject *module = NULL;

    if (intern("__type__", &s_type) || intern("__struct__", &s_struct) || intern("_items", &s_items) ||
        intern("raw", &s_raw) || intern("data", &s_data) || intern("max_depth", &s_max_depth) ||
        intern("max_size", &s_max_size) || intern("tag_hook", &s_tag_hook) || intern("term", &s_term) ||
        intern("default", &s_default) || intern("compress_above", &s_compress_above) ||
        intern("compress_level", &s_compress_level) || intern("culprit", &s_culprit) ||
        intern("path", &s_path) || intern("reason", &s_reason) || intern("cast", &s_cast) ||
        intern("B", &s_B) || intern("from_bytes", &s_from_bytes) || intern("little", &s_little)) {
        goto fail;
    }
    terms = PyImport_ImportModule("snakeport.core.terms");
    errors = terms == NULL ? NULL : PyImport_ImportModule("snakeport.core.etf.errors");
    decoder = errors == NULL ? NULL : PyImport_ImportModule("snakeport.core.etf.decoder");
    encoder = decoder == NULL ? NULL : PyImport_ImportModule("snakeport.core.etf.encoder");
    tagged = encoder == NULL ? NULL : PyImport_ImportModule("snakeport.core.etf.tagged");
    tags = tagged == NULL ? NULL : PyImport_ImportModule("snakeport.core.etf.tags");
    structmod = tags == NULL ? NULL : PyImport_ImportModule("struct");
    zlibmod = structmod == NULL ? NULL : PyImport_ImportModule("zlib");
    if (zlibmod == NULL) {
        goto fail;
    }
    if (take(terms, "Atom", &AtomType) || take(terms, "Pid", &PidType) || take(terms, "Port", &PortType) ||
        take(terms, "Reference", &ReferenceType) || take(terms, "Fun", &FunType) ||
        take(terms, "Opaque", &OpaqueType) || take(terms, "BitString", &BitStringType) ||
        take(terms, "HashableList", &HashableListType) || take(terms, "FrozenMap", &FrozenMapType) ||
        take(terms, "_NodeBound", &node_bound) || take(errors, "DecodeError", &DecodeError) ||
        take(errors, "EncodeError", &EncodeError) || take(structmod, "error", &StructError) ||
        take(tagged, "SPECIAL_ATOMS", &SpecialAtoms) || take(tags, "UNSUPPORTED", &Unsupported) ||
        take(decoder, "_finish_map", &py_finish_map) || take(decoder, "_twin_key", &py_twin_key) ||
        take(decoder, "_join_tail", &py_join_tail) || take(decoder, "decode", &py_pure_decode) ||
        take(decoder, "DEFAULT_MAX_DEPTH", &dec_default_max_depth) ||
        take(decoder, "DEFAULT_MAX_SIZE", &dec_default_max_size) || take(encoder, "_other", &py_other) ||
        take(encoder, "_check_distinct_keys", &py_check_distinct_keys) || take(encoder, "_locate", &py_locate) ||
        take(encoder, "_big", &py_big) || take(encoder, "_DONE", &py_done) ||
        take(encoder, "encode", &py_pure_encode) || take(encoder, "encode_pieces", &py_pure_encode_pieces) ||
        take(encoder, "DEFAULT_MAX_DEPTH", &enc_default_max_depth) ||
        take(zlibmod, "compress", &py_zlib_compress)) {
        goto fail;
    }
    if (!PyType_Check(AtomType) || !PyType_Check(PidType) || !PyType_Check(FunType) ||
        !PyType_Check(node_bound) || !PyType_Check(OpaqueType) || !PyDict_Check(SpecialAtoms) ||
        !PyDict_Check(Unsupported)) {
        PyErr_SetString(PyExc_ImportError, "snakeport's term types are not what _cetf expects");
        goto fail;
    }
    default_compress_level = PyLong_FromLong(6);
    if (default_compress_level == NULL) {
        goto fail;
    }
    descr_raw = member(OpaqueType, "raw");
    descr_identity = member(node_bound, "_identity");
    descr_arity = member(FunType, "arity");
    module = PyModule_Create(&cetf_module);
fail:
    Py_XDECREF(terms);
    Py_XDECREF(errors);
    Py_XDECREF(decoder);
    Py_XDECREF(encoder);
    Py_XDECREF(tagged);
    Py_XDECREF(tags);
    Py_XDECREF(structmod);
    Py_XDECREF(zlibmod);
    Py_XDECREF(node_bound);
    return module;
}
