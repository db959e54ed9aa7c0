// What a trader or a load generator runs against a cluster's API: not part of the replica.
export { cancelOrder, clusterClient, clusterValidators, freshest, placeOrder, transfer, type OrderRequest, type OrderResult, type Progress, type ReceiptJson } from './client';
export { runLoad, type LoadOptions, type LoadReport } from './load';
