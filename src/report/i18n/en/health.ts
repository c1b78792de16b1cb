import type { Catalog } from '../index.js';

/** `oscope health`: what lowered a sub-score (one sentence each, with the numbers that matter). */
export const health: Pick<Catalog, 'text'> = {
  text: {
    'health.heading': 'Health of {hostname} (kernel {kernel}): {score}/100, {level}',
    'health.subscores': 'errors {errors} · latency {latency} · load {load} · saturation {saturation}',
    'health.reasons': 'What lowered it:',
    'health.noReasons': 'Nothing lowered the score.',
    'health.missing': 'Not measured here: {signals}',
    'health.containers': 'Containers and cgroups, worst first:',
    'health.run': 'run: oscope {diagnosis}',
    'health.source.agent': 'from the running agent',
    'health.source.one-shot': 'one-shot collection (no agent running)',
    'health.level.healthy': 'healthy',
    'health.level.at-risk': 'at risk',
    'health.level.warning': 'warning',
    'health.level.error': 'error',
    'health.alert.drop': 'health of {node} dropped from {from} to {to} ({level}): {reason}',
    'health.alert.recovered': 'health of {node} is back to {to} ({level})',
    'health.signal.log': '{count} kernel-log report(s) of {kinds} in the last {hours} h, latest: {title}',
    'health.signal.runqueue-p99': 'run-queue latency p99 is {value} ms (warning at {warn} ms, critical at {crit} ms)',
    'health.signal.psi-io-full': 'all non-idle tasks stalled on I/O {value}% of the last 10 s (warning at {warn}%)',
    'health.signal.load-per-cpu': '5-minute load {load5} on {cpus} CPUs is {value} per CPU (warning at {warn})',
    'health.signal.psi-cpu-some': 'tasks waited for a CPU {value}% of the last 10 s (warning at {warn}%)',
    'health.signal.mem-used': 'memory in use is {value}% ({availableBytes} available of {totalBytes}; warning at {warn}%)',
    'health.signal.psi-mem-some': 'tasks stalled on memory {value}% of the last 10 s (warning at {warn}%)',
    'health.signal.disk-used': '{mount} is {value}% full ({what}; warning at {warn}%)',
    'health.signal.fd-used': '{allocated} of {max} file handles are open ({value}%; warning at {warn}%)',
    'health.signal.pids-used': '{threads} threads of a limit of {limit} ({value}%; warning at {warn}%)',
    'health.signal.cgroup-mem-used': 'memory use is {value}% of its {limitBytes} limit (warning at {warn}%)',
  },
};
