// Integration tests drive real processes (kube-apiserver, helm): give them room.
// jest ignores testTimeout inside a project entry, so it is set per worker here.
import { jest } from '@jest/globals';

jest.setTimeout(180_000);
