import * as api from '../src/index';

test('the public API loads', () => {
  expect(typeof api).toBe('object');
});
