/* Sandbox links: a veth pair over rtnetlink, addresses and routes with the
 * interface ioctls (see sandbox_link.h). */
#include "sandbox_link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <net/route.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

void
wr_link_name (const char *sandbox_id, char buf[WR_LINK_NAME_MAX])
{
    const char *hex = strncmp (sandbox_id, "sb-", 3) == 0 ? sandbox_id + 3 : sandbox_id;
    snprintf (buf, WR_LINK_NAME_MAX, WR_LINK_PREFIX "%.12s", hex);
}

/* ---- a thread in another network namespace ---- */

typedef struct {
    int ns_fd;
    int (*fn) (void *, wr_error_t *);
    void *data;
    wr_error_t *err;
    int rc;
} in_netns_t;

static void *
in_netns_thread (void *arg)
{
    in_netns_t *t = arg;
    if (setns (t->ns_fd, CLONE_NEWNET) < 0)
        t->rc = wr_error_set (t->err, errno, "enter a network namespace");
    else
        t->rc = t->fn (t->data, t->err);
    return NULL;
}

int
wr_in_netns (int ns_fd, int (*fn) (void *data, wr_error_t *err), void *data, wr_error_t *err)
{
    in_netns_t t = { .ns_fd = ns_fd, .fn = fn, .data = data, .err = err, .rc = -1 };
    pthread_t thread;
    int e = pthread_create (&thread, NULL, in_netns_thread, &t);
    if (e != 0)
        return wr_error_set (err, e, "start a thread for a network namespace");
    pthread_join (thread, NULL);
    return t.rc;
}

/* ---- rtnetlink ---- */

/* Sends NLH on a new route socket of the calling thread's namespace and
 * reads the kernel's answer: 0, or -1 with errno. */
static int
rtnl_talk (struct nlmsghdr *nlh)
{
    struct mnl_socket *nl = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);
    if (nl == NULL)
        return -1;
    int rc = -1;
    unsigned seq = (unsigned) time (NULL);
    nlh->nlmsg_seq = seq;
    if (mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) == 0 &&
        mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) >= 0) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        ssize_t n = mnl_socket_recvfrom (nl, buf, sizeof buf);
        if (n >= 0)
            rc = mnl_cb_run (buf, (size_t) n, seq, mnl_socket_get_portid (nl), NULL, NULL) < 0 ? -1
                                                                                               : 0;
    }
    int saved = errno;
    mnl_socket_close (nl);
    errno = saved;
    return rc;
}

typedef struct {
    const wr_link_spec_t *spec;
    int sandbox_fd;
} make_t;

/* In the uplink's namespace: the pair, its sandbox end moved into the
 * sandbox's namespace as eth0. */
static int
make_pair (const wr_link_spec_t *spec, int sandbox_fd, wr_error_t *err)
{
    char buf[1024];
    memset (buf, 0, sizeof buf);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
    struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header (nlh, sizeof *ifm);
    ifm->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz (nlh, IFLA_IFNAME, spec->name);
    struct nlattr *info = mnl_attr_nest_start (nlh, IFLA_LINKINFO);
    mnl_attr_put_strz (nlh, IFLA_INFO_KIND, "veth");
    struct nlattr *data = mnl_attr_nest_start (nlh, IFLA_INFO_DATA);
    struct nlattr *peer = mnl_attr_nest_start (nlh, VETH_INFO_PEER);
    /* The peer's attributes follow an ifinfomsg of its own. */
    struct ifinfomsg *pifm = mnl_nlmsg_get_payload_tail (nlh);
    memset (pifm, 0, sizeof *pifm);
    pifm->ifi_family = AF_UNSPEC;
    nlh->nlmsg_len += MNL_ALIGN (sizeof *pifm);
    mnl_attr_put_strz (nlh, IFLA_IFNAME, "eth0");
    mnl_attr_put_u32 (nlh, IFLA_NET_NS_FD, (uint32_t) sandbox_fd);
    mnl_attr_nest_end (nlh, peer);
    mnl_attr_nest_end (nlh, data);
    mnl_attr_nest_end (nlh, info);
    if (rtnl_talk (nlh) < 0)
        return wr_error_set (err, errno, "make the veth pair `%s`", spec->name);
    return 0;
}

static void
set_sin (struct sockaddr *sa, uint32_t addr)
{
    struct sockaddr_in *sin = (struct sockaddr_in *) sa;
    memset (sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl (addr);
}

/* In the calling thread's namespace: ADDR/PREFIX on NAME, and NAME up. */
static int
address_up (const char *name, uint32_t addr, int prefix, wr_error_t *err)
{
    cleanup_close int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wr_error_set (err, errno, "open a socket to set up `%s`", name);
    struct ifreq ifr;
    memset (&ifr, 0, sizeof ifr);
    snprintf (ifr.ifr_name, IFNAMSIZ, "%s", name);
    set_sin (&ifr.ifr_addr, addr);
    if (ioctl (fd, SIOCSIFADDR, &ifr) < 0)
        return wr_error_set (err, errno, "give `%s` its address", name);
    set_sin (&ifr.ifr_netmask, prefix == 0 ? 0 : 0xffffffffu << (32 - prefix));
    if (ioctl (fd, SIOCSIFNETMASK, &ifr) < 0)
        return wr_error_set (err, errno, "give `%s` its netmask", name);
    if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
        return wr_error_set (err, errno, "read the flags of `%s`", name);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
        return wr_error_set (err, errno, "bring `%s` up", name);
    return 0;
}

static int
uplink_side (void *data, wr_error_t *err)
{
    make_t *m = data;
    if (make_pair (m->spec, m->sandbox_fd, err) < 0)
        return -1;
    return address_up (m->spec->name, m->spec->gateway, m->spec->prefix, err);
}

static int
sandbox_side (void *data, wr_error_t *err)
{
    const wr_link_spec_t *spec = data;
    if (address_up ("eth0", spec->address, spec->prefix, err) < 0)
        return -1;
    cleanup_close int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wr_error_set (err, errno, "open a socket to route eth0");
    struct rtentry rt;
    memset (&rt, 0, sizeof rt);
    set_sin (&rt.rt_dst, 0);
    set_sin (&rt.rt_genmask, 0);
    set_sin (&rt.rt_gateway, spec->gateway);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    char dev[] = "eth0";
    rt.rt_dev = dev;
    /* A route there already (runsc left it) is the one wanted. */
    if (ioctl (fd, SIOCADDRT, &rt) < 0 && errno != EEXIST)
        return wr_error_set (err, errno, "route the sandbox's traffic through its gateway");
    return 0;
}

int
wr_link_create (const wr_link_spec_t *spec, wr_error_t *err)
{
    cleanup_close int sandbox_fd = open (spec->netns_path, O_RDONLY | O_CLOEXEC);
    if (sandbox_fd < 0)
        return wr_error_set (err, errno, "link `%s`: open the network namespace `%s`", spec->name,
                             spec->netns_path);
    make_t m = { .spec = spec, .sandbox_fd = sandbox_fd };
    if (wr_in_netns (spec->uplink_fd, uplink_side, &m, err) < 0 ||
        wr_in_netns (sandbox_fd, sandbox_side, (void *) spec, err) < 0) {
        wr_link_remove (spec->uplink_fd, spec->name, NULL);
        return wr_error_prefix (err, "link `%s`", spec->name);
    }
    return 0;
}

int
wr_link_readdress (const wr_link_spec_t *spec, wr_error_t *err)
{
    cleanup_close int sandbox_fd = open (spec->netns_path, O_RDONLY | O_CLOEXEC);
    if (sandbox_fd < 0)
        return wr_error_set (err, errno, "link `%s`: open the network namespace `%s`", spec->name,
                             spec->netns_path);
    if (wr_in_netns (sandbox_fd, sandbox_side, (void *) spec, err) < 0)
        return wr_error_prefix (err, "link `%s`", spec->name);
    return 0;
}

static int
remove_link (void *data, wr_error_t *err)
{
    const char *name = data;
    char buf[256];
    memset (buf, 0, sizeof buf);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
    nlh->nlmsg_type = RTM_DELLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header (nlh, sizeof *ifm);
    ifm->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
    if (rtnl_talk (nlh) < 0 && errno != ENODEV)
        return wr_error_set (err, errno, "remove link `%s`", name);
    return 0;
}

int
wr_link_remove (int uplink_fd, const char *name, wr_error_t *err)
{
    return wr_in_netns (uplink_fd, remove_link, (void *) name, err);
}
