import type { Catalog } from '../index.js';

export const common: Pick<Catalog, 'text'> = {
  text: {
    'severity.info': '提示',
    'severity.warning': '警告',
    'severity.critical': '严重',
    'report.findings': '诊断结论',
    'report.noFindings': '未发现问题。',
    'report.suggestions': '建议',
    'report.method': '方法',
    'report.coverage': '覆盖范围',
    'report.host': '主机 {hostname}，内核 {kernel}，采集于 {capturedAt}',
  },
};
