#!/usr/bin/env python3
"""`tools/bench cluster`: the durable customer message route (tools/bench_http.lua: a FAQ question
with a client_msg_id to one of 500 conversations, the bot answers) with 1, 2 and 3 kefu nodes on
one PostgreSQL 15 database, beside one node on LevelDB, same wrk settings, in one run. Then the
PostgreSQL side per message: transactions, statements (pg_stat_statements), WAL bytes, and the CPU
of the database's processes against the nodes' CPU.

PostgreSQL is a throwaway cluster (initdb in a temporary directory, pg_ctl on a free loopback port;
as the `postgres` user when run as root), durable: fsync and synchronous_commit on (the defaults),
on the disk under build/. With several nodes each node gets its own wrk process and an equal share
of the connections, as a load balancer would spread them; requests/s are summed.

Usage: bench_cluster.py KEFU WORK_DIR [--seconds S] [--connections C] [--nodes 1,2,3]"""
import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

PG_BIN = "/usr/lib/postgresql/15/bin"
ADMIN_TOKEN = "bench-cluster-admin-token-0123456789abcdef"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def as_postgres(argv):
    """argv run as the postgres user when we are root (PostgreSQL refuses root)."""
    return (["runuser", "-u", "postgres", "--"] + argv) if os.geteuid() == 0 else argv


class Postgres:
    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        data = os.path.join(self.dir, "data")
        subprocess.run(as_postgres([PG_BIN + "/initdb", "-D", data, "-A", "trust", "-U", "postgres"]),
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(data, "postgresql.conf"), "a") as conf:
            conf.write("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"
                       "max_connections = 200\nshared_buffers = 256MB\n"
                       "shared_preload_libraries = 'pg_stat_statements'\n" % (self.port, self.dir))
        subprocess.run(as_postgres([PG_BIN + "/pg_ctl", "-D", data, "-l", os.path.join(self.dir, "log"), "-w", "start"]),
                       check=True, stdout=subprocess.DEVNULL)
        self.data = data

    def stop(self):
        subprocess.run(as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sql(self, database, query):
        out = subprocess.run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                              "-d", database, "-c", query], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def uri(self, database):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, database)

    def cpu_seconds(self):
        """User + system CPU of every process of the cluster (the postmaster and its children)."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            root = int(f.readline())
        return sum(cpu_of(pid) for pid in [root] + children(root))


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def cpu_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    except OSError:
        return 0.0


def wait_healthy(port, proc, err_path):
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit("kefu serve exited: " + open(err_path).read()[-2000:])
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("kefu serve did not come up: " + open(err_path).read()[-2000:])


def start_node(kefu, work, name, store, threads):
    port = free_port()
    data = os.path.join(work, name)
    os.makedirs(data, exist_ok=True)
    args = [kefu, "serve", "--listen", "127.0.0.1:%d" % port, "--data", data, "--no-ip-limits", "--quiet",
            "--threads", str(threads)]
    if store:
        args += ["--store", store]
    env = dict(os.environ, KEFU_ADMIN_TOKEN=ADMIN_TOKEN)
    err = os.path.join(data, "err.txt")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=open(err, "w"))
    wait_healthy(port, proc, err)
    return proc, port


def wrk(ports, conversations, seconds, connections):
    """One wrk per node, all at once; returns (requests/s summed, [wrk outputs])."""
    share = max(1, connections // len(ports))
    procs = []
    for port in ports:
        cmd = ["wrk", "-t1", "-c%d" % share, "-d%ds" % seconds, "--latency", "-s", os.path.join(HERE, "bench_http.lua"),
               "http://127.0.0.1:%d" % port, "--", conversations]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    outs = [p.communicate()[0] for p in procs]
    total = 0.0
    for out in outs:
        for line in out.splitlines():
            if line.startswith("Requests/sec:"):
                total += float(line.split()[1])
            if "Non-2xx" in line:
                sys.exit("wrk: non-2xx answers:\n" + out)
    return total, outs


def percentile(outs, p):
    vals = []
    for out in outs:
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "%d%%" % p:
                vals.append(parts[1])
    return "/".join(vals)


def run_setup(kefu, work, label, store, nodes, args, pg=None, database=None):
    procs, ports = [], []
    try:
        for i in range(nodes):
            proc, port = start_node(kefu, work, "%s-node%d" % (label, i), store, args.connections + 32)
            procs.append(proc)
            ports.append(port)
        conversations = os.path.join(work, label + "-conversations.txt")
        with open(conversations, "w") as out:
            subprocess.run([sys.executable, os.path.join(HERE, "bench_http_fill.py"), "--port", str(ports[0]),
                            "--count", "500"], check=True, stdout=out)
        wrk(ports, conversations, 3, args.connections)  # warm-up: caches, connections, prepared statements
        before = after = None
        if pg:
            pg.sql(database, "SELECT pg_stat_statements_reset()")
            before = pg_counters(pg, database)
        node_cpu = sum(cpu_of(p.pid) for p in procs)
        rps, outs = wrk(ports, conversations, args.seconds, args.connections)
        node_cpu = sum(cpu_of(p.pid) for p in procs) - node_cpu
        if pg:
            after = pg_counters(pg, database)
        return rps, outs, node_cpu, before, after
    finally:
        for p in procs:
            p.kill()
            p.wait()


def pg_counters(pg, database):
    row = pg.sql(database, "SELECT xact_commit, xact_rollback, pg_current_wal_lsn() - '0/0'::pg_lsn, "
                           "(SELECT coalesce(sum(calls), 0) FROM pg_stat_statements) "
                           "FROM pg_stat_database WHERE datname = current_database()")
    commits, rollbacks, wal, statements = row.split("|")
    return {"commits": int(commits), "rollbacks": int(rollbacks), "wal": int(float(wal)),
            "statements": int(statements), "cpu": pg.cpu_seconds()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kefu")
    ap.add_argument("work")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--nodes", default="1,2,3")
    args = ap.parse_args()
    kefu = os.path.abspath(args.kefu)
    work = os.path.abspath(args.work)
    print("wrk: %d keep-alive connections in all (shared equally by the nodes, one wrk each), %d s per run, "
          "after a 3 s warm-up; loopback; kefu, PostgreSQL and wrk share the cores" % (args.connections, args.seconds))
    rows = []
    rps, outs, cpu, _, _ = run_setup(kefu, work, "leveldb", None, 1, args)
    rows.append(("1 node, LevelDB", rps, outs, cpu, None))
    pg = Postgres(work)
    try:
        for n in [int(x) for x in args.nodes.split(",")]:
            database = "bench%d" % n
            pg.sql("postgres", "CREATE DATABASE " + database)
            pg.sql(database, "CREATE EXTENSION pg_stat_statements")
            rps, outs, cpu, before, after = run_setup(kefu, work, "pg%d" % n, pg.uri(database), n, args, pg, database)
            rows.append(("%d node%s, PostgreSQL" % (n, "" if n == 1 else "s"), rps, outs, cpu, (before, after)))
    finally:
        pg.stop()

    print()
    print("%-24s %11s %16s %13s %9s %9s %9s %9s %10s" % ("", "requests/s", "p50 (per wrk)", "p99 (per wrk)",
                                                          "kefu CPU", "PG CPU", "txn/msg", "stmt/msg", "WAL B/msg"))
    for name, rps, outs, cpu, pgc in rows:
        msgs = rps * args.seconds
        kefu_us = "%.0f us" % (cpu / msgs * 1e6)
        pg_us = txn = stmt = wal = "-"
        if pgc:
            before, after = pgc
            pg_us = "%.0f us" % ((after["cpu"] - before["cpu"]) / msgs * 1e6)
            txn = "%.2f" % ((after["commits"] - before["commits"]) / msgs)
            stmt = "%.1f" % ((after["statements"] - before["statements"]) / msgs)
            wal = "%.0f" % ((after["wal"] - before["wal"]) / msgs)
        print("%-24s %11.0f %16s %13s %9s %9s %9s %9s %10s" % (name, rps, percentile(outs, 50), percentile(outs, 99),
                                                                kefu_us, pg_us, txn, stmt, wal))
    print("(CPU per message: the kefu nodes' and the database's user+system CPU over the run divided by the messages; "
          "txn and statements per message count everything the nodes ran meanwhile, timers included)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
