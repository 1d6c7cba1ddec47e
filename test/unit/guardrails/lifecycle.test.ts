import type { CaelusInstance } from '../../../src/domain/instance.ts';
import { annotationActivity } from '../../../src/operator/lifecycle/activity.ts';
import { parseDuration } from '../../../src/domain/duration.ts';
import { lifecycleAction } from '../../../src/operator/lifecycle/jobs.ts';

const now = new Date('2030-01-01T12:00:00Z');
const instance = (spec: Partial<CaelusInstance['spec']>, meta: Partial<CaelusInstance['metadata']> = {}, status: CaelusInstance['status'] = {}): CaelusInstance => ({
  apiVersion: 'caelus.io/v1',
  kind: 'CaelusInstance',
  metadata: { name: 'i', creationTimestamp: '2030-01-01T10:00:00Z', ...meta },
  spec: { userId: 'u', productTemplateVersion: 'a@1.0.0', ...spec },
  status,
});

describe('parseDuration', () => {
  it.each([
    ['30m', 1_800_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['2s', 2_000],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', '0s', '1d', 'soon', '5'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('lifecycleAction', () => {
  it.each([
    ['expired', instance({ expiresAt: '2030-01-01T11:59:59Z' }), 'delete'],
    ['not yet expired', instance({ expiresAt: '2030-01-01T12:00:01Z' }), 'none'],
    ['already being deleted', instance({ expiresAt: '2030-01-01T11:00:00Z' }, { deletionTimestamp: '2030-01-01T11:30:00Z' }), 'none'],
    ['idle since creation', instance({ idleTimeout: '1h' }), 'hibernate'],
    ['recent activity', instance({ idleTimeout: '1h' }, { annotations: { 'caelus.io/last-activity': '2030-01-01T11:30:00Z' } }), 'none'],
    ['woken up recently', instance({ idleTimeout: '1h' }, {}, { hibernation: { wokeAt: '2030-01-01T11:45:00Z' } }), 'none'],
    ['already hibernated', instance({ idleTimeout: '1h', state: 'Hibernated' }), 'none'],
    ['suspended', instance({ idleTimeout: '1h', suspend: true }), 'none'],
    ['garbage activity annotation falls back to creation', instance({ idleTimeout: '1h' }, { annotations: { 'caelus.io/last-activity': 'yesterday' } }), 'hibernate'],
    ['expiry wins over idleness', instance({ idleTimeout: '1h', expiresAt: '2030-01-01T11:00:00Z' }), 'delete'],
  ])('%s → %s', (_label, i, action) => expect(lifecycleAction(i, now, annotationActivity)).toBe(action));
});
