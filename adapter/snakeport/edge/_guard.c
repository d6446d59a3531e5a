/*
 * snakeport.edge._guard: the orphan guard, outside Python.
 *
 * A thread of its own (no GIL) waits for the BEAM to go: the input pipe
 * hangs up, or the parent process changes.  It then asks Python for a
 * clean exit (SIGINT to the main thread: a KeyboardInterrupt there, so
 * finally blocks run) and, if the process is still there a moment later,
 * ends it with _exit().  A C call that holds the GIL for
 * minutes cannot keep the adapter alive: nothing here needs the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>


typedef struct {
    int fd;
    pid_t parent;
    pthread_t main_thread;
    long clean_after_ms;
    long hard_after_ms;
} guard_config;

static guard_config config;
static int started = 0;

static void sleep_ms(long ms) {
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) == -1 && errno == EINTR) {
    }
}

static int hung_up(void) {
    struct pollfd watched = {config.fd, 0, 0}; /* no events asked: POLLHUP/POLLERR still arrive */
    int ready = poll(&watched, 1, 250);
    if (ready > 0 && (watched.revents & (POLLHUP | POLLERR | POLLNVAL))) {
        return 1;
    }
    return getppid() != config.parent;
}

static void *guard_main(void *unused) {
    (void)unused;
    while (!hung_up()) {
    }
    sleep_ms(config.clean_after_ms);
    /* SIGINT to the main thread: it interrupts a blocking call there, and
     * Python's handler raises KeyboardInterrupt at the next check, so
     * finally blocks run.  Needs no GIL. */
    pthread_kill(config.main_thread, SIGINT);
    sleep_ms(config.hard_after_ms - config.clean_after_ms);
    _exit(0);
    return NULL;
}

static PyObject *guard_start(PyObject *module, PyObject *args) {
    (void)module;
    int fd;
    long parent, clean_after_ms, hard_after_ms;
    if (!PyArg_ParseTuple(args, "illl", &fd, &parent, &clean_after_ms, &hard_after_ms)) {
        return NULL;
    }
    if (started) {
        PyErr_SetString(PyExc_RuntimeError, "the orphan guard is already running");
        return NULL;
    }
    if (fd < 0 || clean_after_ms < 0 || hard_after_ms < clean_after_ms) {
        PyErr_SetString(PyExc_ValueError, "bad guard settings");
        return NULL;
    }
    config.fd = fd;
    config.parent = (pid_t)parent;
    config.main_thread = pthread_self(); /* start() is called from the main thread */
    config.clean_after_ms = clean_after_ms;
    config.hard_after_ms = hard_after_ms;

    pthread_attr_t attributes;
    pthread_t thread;
    sigset_t all, previous;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, 64 * 1024);
    /* The guard thread takes no signals: they stay Python's business. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    int failed = pthread_create(&thread, &attributes, guard_main, NULL);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    pthread_attr_destroy(&attributes);
    if (failed) {
        errno = failed;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    started = 1;
    if (getppid() != config.parent) { /* the parent died before we watched */
        _exit(0);
    }
    Py_RETURN_NONE;
}

static PyMethodDef guard_methods[] = {
    {"start", guard_start, METH_VARARGS,
     "start(fd, parent_pid, clean_after_ms, hard_after_ms): watch fd for a hang-up and the parent for a "
     "change; then ask Python to exit, and end the process if it has not."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef guard_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_guard",
    .m_doc = "The orphan guard: a watch on the BEAM that needs no GIL.",
    .m_size = -1,
    .m_methods = guard_methods,
};

PyMODINIT_FUNC PyInit__guard(void) { return PyModule_Create(&guard_module); }
