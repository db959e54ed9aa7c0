// @bftx/viz: charts and self-contained HTML reports for bftx runs, built on Apache ECharts.
export { VizInputError, type AgentOutcome, type BookDepth, type ComparisonRow, type ConsensusRun, type DepthLevel, type Print, type TraceRecord, type Window } from './inputs';
export { readTrace, statusAt, type BlockInfo, type BlockStatus, type ReplicaView, type TraceFacts } from './trace';
export {
  STATUS_COLORS,
  blockTreeChart,
  forkChart,
  viewRange,
  viewTimelineChart,
  firstViewsWindow,
  latencyChart,
  messageSequenceChart,
  throughputChart,
  type BlockTreeOptions,
  type ForkInput,
  type ForkSide,
  type HistogramOptions,
  type MessageSequenceOptions,
  type ThroughputOptions,
  type TimeWindowOptions,
} from './consensus-charts';
export { intervalChart, type IntervalChartOptions, type IntervalPoint } from './interval-chart';
export { candlesChart, comparisonChart, comparisonRowsFromBench, depthChart, pnlChart, type CandleOptions } from './market-charts';
export { htmlReport, renderSvg, type Report, type ReportChart, type ReportSection, type ReportTable, type Size } from './render';
export type { EChartsOption } from 'echarts';
