import { parseApiMix } from '../../../bench/lib/api-load.ts';

describe('parseApiMix (bench api --mix)', () => {
  it('reads get,list,create weights', () => {
    expect(parseApiMix('70,28,2')).toEqual({ get: 70, list: 28, create: 2 });
    expect(parseApiMix(' 1, 0 ,0')).toEqual({ get: 1, list: 0, create: 0 });
  });
  it.each(['70,30', '70,20,10,0', '70,20,x', '70,,10', '-1,50,51', '0.5,50,50', '0,0,0', ''])('refuses %j, saying what it takes', (text) => {
    expect(() => parseApiMix(text)).toThrow(/three whole weights, get,list,create/);
  });
});
