#!/usr/bin/env python3
"""trace_hops.py - where one change's latency goes, from AMESH_TRACE files.

    AMESH_TRACE=/tmp/tr bash tests/bench/mesh_bench.sh build/ameshd build/amesh 20 20
    python3 tests/bench/trace_hops.py /tmp/tr

Reads the per-process files peer/trace.h describes (every ameshd and amesh
of the run wrote one). A round is one traced `amesh submit` or `amesh
withdraw` (mesh_bench.sh's warm-up submits untraced, so it is left out);
a peer's arrival is its first `event` stamp in the round (mesh_bench.sh
waits for every peer before the next round). For each peer the hop that
brought the change is followed back to its sender through the neighbour
names in the stamps, and cut into stages (a sender is "ready" when its
commit is durable, or - relaying ahead of its commit, peer/mesh_early.h -
when its ingest offered the body to the relay). Prints p50/p90/mean per stage
over all hops, the critical path (origin to the last peer: hops and the
sum of each stage), and the CLI's path to the origin's commit. Stage 6 is
also split by the committing thread's schedstat (`commit_sched' stamps):
time on a CPU, runnable but waiting for one, and blocked.
Neighbour names must be the peers' own names (as mesh_bench.sh sets them).
Reports figures only; never fails on timing.
"""
import collections
import glob
import os
import sys


def load(d):
    recs = {}
    for f in glob.glob(os.path.join(d, 'trace.*')):
        r = []
        with open(f) as fh:
            for line in fh:
                p = line.split()
                if len(p) == 5:
                    r.append((float(p[0]), int(p[2]), p[3], p[4]))
        if r:
            recs[int(f.rsplit('.', 1)[1])] = sorted(r)
    return recs


def first(r, t0, t1, stages, tid=None, who=None):
    for x in r:
        if x[0] >= t1:
            break
        if x[0] >= t0 and x[2] in stages and (tid is None or x[1] == tid) and (who is None or x[3] == who):
            return x
    return None


def last(r, t0, t1, stages, tid=None, who=None):
    best = None
    for x in r:
        if x[0] > t1:
            break
        if x[0] >= t0 and x[2] in stages and (tid is None or x[1] == tid) and (who is None or x[3] == who):
            best = x
    return best


def stats(v):
    v = sorted(v)
    if not v:
        return 'n/a'
    return 'p50 %7.2f  p90 %7.2f  mean %7.2f  n=%d' % (v[len(v) // 2], v[int(len(v) * .9)], sum(v) / len(v), len(v))


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: trace_hops.py TRACEDIR')
    recs = load(sys.argv[1])
    name = {pid: x[3] for pid, r in recs.items() for x in r if x[2] == 'self'}
    pid_of = {n: pid for pid, n in name.items()}
    rounds = sorted((r[0][0], pid) for pid, r in recs.items()
                    if r[0][2] == 'cli_main' and r[0][3] in ('submit', 'withdraw'))
    hop = collections.defaultdict(list)
    split = collections.defaultdict(list)
    cli = collections.defaultdict(list)
    crit, depths = [], []
    for k, (t0, cpid) in enumerate(rounds):
        t1 = rounds[k + 1][0] if k + 1 < len(rounds) else float('inf')
        arr = {}
        for pid, n in name.items():
            e = first(recs[pid], t0, t1, {'event'})
            if e:
                arr[n] = e
        if not arr:
            continue
        origin = min(arr, key=lambda n: arr[n][0])
        # the CLI's path to the origin's commit
        c = {x[2]: x[0] for x in recs[cpid]}
        o, oe = recs[pid_of[origin]], arr[origin]
        if 'cli_connected' in c and 'cli_reply' in c:
            rv = first(o, c['cli_connected'], t1, {'ctl_recv'})
            tb = last(o, t0, oe[0], {'txn_built'}, oe[1])
            sc = last(o, t0, oe[0], {'store_committed'}, oe[1])
            if rv and tb and sc:
                for what, a, b in (('amesh main() -> connected', c['cli_main'], c['cli_connected']),
                                   ('connected -> daemon has the request', c['cli_connected'], rv[0]),
                                   ('request -> txn built (checks, sign)', rv[0], tb[0]),
                                   ('txn built -> durable (mdb_txn_commit)', tb[0], sc[0]),
                                   ('durable -> watch feed has it', sc[0], oe[0]),
                                   ('watch feed -> amesh has the reply', oe[0], c['cli_reply'])):
                    cli[what].append((b - a) * 1e3)
        # every hop: receiver side back to the sender
        info = {}
        for p, (t, tid, _, _) in arr.items():
            if p == origin:
                continue
            pr = recs[pid_of[p]]
            op = last(pr, t0, t, {'srv_open', 'pull_opened'}, tid)
            if not op or op[3] not in arr or op[3] not in pid_of:
                continue
            x = op[3]
            xr, xe = recs[pid_of[x]], arr[x]
            if op[2] == 'srv_open':  # x's pusher pushed to p
                rv = last(pr, t0, op[0], {'srv_recv'}, tid)
                built = rv and last(xr, t0, rv[0], {'push_built'}, None, p)
                wake = built and last(xr, t0, built[0], {'push_wake', 'push_acked'}, built[1], p)
            else:  # x's parked long-poll answered p's puller
                rv = last(pr, t0, op[0], {'call_recv'}, tid)
                built = rv and last(xr, t0, rv[0], {'poll_built'}, None, p)
                wake = built and last(xr, t0, built[0], {'poll_wake', 'srv_open'}, built[1])
            # cut-through (peer/mesh_early.h): a relaying sender's own
            # commit is off the path; its hop starts when its ingest offered
            # the body to the relay (early_queued), before its commit
            eq = last(xr, t0, wake[0], {'early_queued'})
            ready = eq[0] if eq and eq[0] < xe[0] else xe[0]
            ver = first(pr, op[0], t, {'verified'}, tid)
            tb = last(pr, op[0], t, {'txn_built'}, tid)
            sc = last(pr, op[0], t, {'store_committed'}, tid)
            if not (rv and built and wake and ver and tb and sc):
                continue
            h = collections.OrderedDict((
                ('1 sender ready -> its sender woken', wake[0] - ready),
                ('2 woken -> batch built', built[0] - wake[0]),
                # NNG's send completes after the bytes left, often after
                # the receiver has them: so sealing, sending and the
                # loopback are one stage
                ('3 built -> receiver has it (seal, NNG)', rv[0] - built[0]),
                ('4 received -> opened, verified', ver[0] - rv[0]),
                ('5 verified -> txn built (policy, apply)', tb[0] - ver[0]),
                ('6 txn built -> durable (mdb_txn_commit)', sc[0] - tb[0]),
                ('7 durable -> watch feed has it', t - sc[0]),
                ('  hop: sender\'s feed -> receiver\'s feed', t - xe[0]),
            ))
            for key, v in h.items():
                hop[key].append(v * 1e3)
            info[p] = (x, h)
            # stage 6 split by the committing thread's schedstat
            cs = last(pr, tb[0], sc[0], {'commit_sched'}, tid)
            if cs and cs[3].count(',') == 2:
                cpu, runq, wall = (int(v) / 1e3 for v in cs[3].split(','))
                split['on a CPU'].append(cpu)
                split['runnable, waiting for a CPU'].append(runq)
                split['blocked (the disk; locks)'].append(max(0.0, wall - cpu - runq))
        # the critical path: back from the peer that held it last
        y, n, path = max(arr, key=lambda n: arr[n][0]), 0, collections.Counter()
        while y in info and n < 64:
            y, h = info[y][0], info[y][1]
            for key, v in h.items():
                path[key] += v * 1e3
            n += 1
        if y == origin and n:
            crit.append(path)
            depths.append(n)
    print('trace_hops: %d peers, %d rounds, %d hops traced' % (len(name), len(rounds),
                                                             len(hop.get('2 woken -> batch built', []))))
    print('per hop (ms):')
    for key, v in hop.items():
        print('  %-42s %s' % (key, stats(v)))
    if split:
        print('stage 6, the receiver\'s commit thread (schedstat, ms):')
        for key, v in split.items():
            print('    %-40s %s' % (key, stats(v)))
    if crit:
        print('critical path, origin -> last peer: hops %s (p50 %d)' % (sorted(depths), sorted(depths)[len(depths) // 2]))
        for key in hop:
            v = sorted(c[key] for c in crit)
            print('  %-42s sum p50 %7.2f  mean %7.2f' % (key, v[len(v) // 2], sum(v) / len(v)))
    if cli:
        print('CLI to the origin (ms):')
        for key, v in cli.items():
            print('  %-42s %s' % (key, stats(v)))


if __name__ == '__main__':
    main()
