import { parseStat, parseStatus } from '../../../bench/lib/proc.ts';

describe('/proc parsing', () => {
  it('reads utime+stime and cutime+cstime even when the command name has spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
    const line = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 1000 2000 0 0 250 50 700 100 20 0 11 0 123 456789 1234';
    expect(parseStat(line, 100)).toEqual({ self: 3, children: 8 });
  });

  it('reads VmHWM and VmRSS in bytes', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
    expect(parseStatus(status)).toEqual({ peakRssBytes: 204800 * 1024, rssBytes: 102400 * 1024 });
  });

  it('fails loudly on a line it does not understand', () => {
    expect(() => parseStat('garbage', 100)).toThrow(/unexpected/);
  });
});
