// What a trader or a load generator runs against a cluster's API: not part of the replica.
export { clusterClient, clusterValidators, placeOrder, type OrderRequest, type OrderResult, type ReceiptJson } from './client';
export { runLoad, type LoadOptions, type LoadReport } from './load';
