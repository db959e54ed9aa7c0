// What a trader or a load generator runs against a cluster's API: not part of the replica.
export { placeOrder, type OrderRequest, type OrderResult } from './client';
export { runLoad, type LoadOptions, type LoadReport } from './load';
