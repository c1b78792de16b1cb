import type { Catalog } from '../index.js';

export const common: Pick<Catalog, 'text'> = {
  text: {
    'severity.info': 'info',
    'severity.warning': 'warning',
    'severity.critical': 'critical',
    'report.findings': 'Findings',
    'report.noFindings': 'No problems found.',
    'report.suggestions': 'What to do',
    'report.method': 'Method',
    'report.coverage': 'Coverage',
    'report.host': 'Host {hostname}, kernel {kernel}, captured {capturedAt}',
  },
};
