#include "agent_main.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"

static void
on_exit_cb (pid_t pid, int status, void *data)
{
    agent_process_on_exit (data, pid, status);
}

/* Processes get /dev/null or pipes on 0-2; those numbers must not be
 * free, or a pipe of ours would land on them. */
static void
hold_std_fds (void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl (fd, F_GETFD) < 0 && errno == EBADF)
            open ("/dev/null", O_RDWR);
}

int
agent_main (const init_args_t *args, reaper_t *reaper)
{
    hold_std_fds ();
    agent_t agent = { .listen_fd = -1, .relay_fd = -1, .main_pid = -1, .reaper = reaper };
    agent.options =
        (agent_options_t){ .socket_path = args->agent_socket,
                           .root = args->agent_root,
                           .spill_dir = args->agent_spill_dir,
                           .registry_mirror_port = args->docker ? args->registry_mirror_port : 0,
                           .max_processes = args->agent_max_processes,
                           .default_user = args->agent_user };
    pthread_mutex_init (&agent.lock, NULL);
    pthread_cond_init (&agent.cond, NULL);
    agent.wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    cleanup_error wr_error_t err = NULL;
    if (agent.wake_fd < 0) {
        wr_log (WR_LOG_ERROR, "agent: eventfd failed", "error", strerror (errno), NULL);
        return INIT_EXIT_FAILURE;
    }
    reaper->on_exit = on_exit_cb;
    reaper->on_exit_data = &agent;
    if (agent_listen (&agent, &err) < 0) {
        wr_log (WR_LOG_ERROR, err->message, NULL);
        return INIT_EXIT_FAILURE;
    }
    wr_log (WR_LOG_INFO, "agent: listening", "socket", args->agent_socket, NULL);
    if (agent.options.registry_mirror_port > 0) {
        /* Without it dockerd pulls as if there were no mirror. */
        if (agent_relay_listen (&agent, agent.options.registry_mirror_port, &err) < 0) {
            wr_log (WR_LOG_WARN, err->message, NULL);
            wr_error_free (&err);
            agent.options.registry_mirror_port = 0;
        }
    }
    if (args->docker && agent_docker_start (&agent, &err) < 0) {
        /* The agent still serves: docker.watch reports the failure. */
        agent_docker_fail_start (&agent, err);
        wr_error_free (&err);
    }
    if (args->command) {
        spawn_options_t options = { .argv = args->command,
                                    .stdin_fd = -1,
                                    .stdout_fd = -1,
                                    .stderr_fd = -1,
                                    .foreground = true };
        agent.main_pid = reaper_spawn (reaper, &options, &err);
        if (agent.main_pid < 0) {
            wr_log (WR_LOG_ERROR, err->message, NULL);
            return err->errno_value == ENOENT ? INIT_EXIT_NOT_FOUND : INIT_EXIT_CANNOT_EXECUTE;
        }
    }
    int code = agent_run (&agent);
    agent_unlisten (&agent);
    agent_relay_unlisten (&agent);
    unlink (args->agent_socket);
    agent_docker_stop (&agent);
    agent_process_kill_all (&agent);
    reaper->on_exit = NULL;
    /* Worker threads still running hold only their streams (cancelled
     * now); the process ends right after this. */
    pthread_mutex_lock (&agent.lock);
    agent_process_free_all (&agent);
    pthread_mutex_unlock (&agent.lock);
    close (agent.wake_fd);
    return code;
}
