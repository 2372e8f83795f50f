/* The Docker routes: calls on a Docker-enabled sandbox's dockerd through
 * its Engine API (dockerapi/), each answered by a stream of events that
 * ends with an exit status and the docker CLI's output (api_docker_job.h;
 * docs/api.md, "Docker"). */
#ifndef WARREN_API_DOCKER_H
#define WARREN_API_DOCKER_H

#include "api_request.h"
#include "api_response.h"
#include "error.h"

#define WR_API_DOCKER_HANDLER(name)                                                                \
    int name (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)

/* Images: api_docker_image.c, api_docker_build.c. */
WR_API_DOCKER_HANDLER (wr_api_docker_pull);
WR_API_DOCKER_HANDLER (wr_api_docker_push);
WR_API_DOCKER_HANDLER (wr_api_docker_images);
WR_API_DOCKER_HANDLER (wr_api_docker_tag);
WR_API_DOCKER_HANDLER (wr_api_docker_rmi);
WR_API_DOCKER_HANDLER (wr_api_docker_login);
WR_API_DOCKER_HANDLER (wr_api_docker_build);
/* Containers: api_docker_container.c, api_docker_run.c. */
WR_API_DOCKER_HANDLER (wr_api_docker_run);
WR_API_DOCKER_HANDLER (wr_api_docker_ps);
WR_API_DOCKER_HANDLER (wr_api_docker_logs);
WR_API_DOCKER_HANDLER (wr_api_docker_exec);
WR_API_DOCKER_HANDLER (wr_api_docker_stop);
WR_API_DOCKER_HANDLER (wr_api_docker_rm);
/* Volumes: api_docker_volume.c. */
WR_API_DOCKER_HANDLER (wr_api_docker_volume_create);
WR_API_DOCKER_HANDLER (wr_api_docker_volume_rm);
WR_API_DOCKER_HANDLER (wr_api_docker_volume_ls);
/* Compose, a process in the sandbox: api_docker_compose.c. */
WR_API_DOCKER_HANDLER (wr_api_docker_compose_up);
WR_API_DOCKER_HANDLER (wr_api_docker_compose_down);
WR_API_DOCKER_HANDLER (wr_api_docker_compose_ps);
WR_API_DOCKER_HANDLER (wr_api_docker_compose_logs);

#endif
