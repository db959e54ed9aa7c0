/** Number of cases for a property: `ciDefault`, or BFTX_RUNS when set. Defined in tools/jest/fast-check-setup.cjs. */
declare function bftxRuns(ciDefault: number): number;
