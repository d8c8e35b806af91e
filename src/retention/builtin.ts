import { buildSchedule, type RetentionSchedule, type ScheduleFile } from './schedule.js';

/**
 * The default schedule: the retention matrix of the reference specification (docs/seeds), with
 * the regulations' own minimums. Where a rule gives a range, the minimum the regulation demands is
 * what COMPLIANCE locks; operators who keep longer replace this with WORMSEAL_RETENTION_FILE.
 */
export const BUILTIN_SCHEDULE: ScheduleFile = {
  classes: [
    { name: 'sox-7y', duration: 'P7Y', citation: 'SOX § 802 (18 U.S.C. § 1519); 17 CFR 210.2-06', description: 'Financial records and controls evidence' },
    { name: 'sox-itgc-3y', duration: 'P3Y', citation: 'SOX ITGC (PCAOB AS 2201)', description: 'System configuration and access changes' },
    { name: 'finra-6y', duration: 'P6Y', citation: 'FINRA Rule 4511; SEC Rule 17a-4(b)', description: 'Broker-dealer books, records and communications' },
    { name: 'hipaa-6y', duration: 'P6Y', citation: 'HIPAA 45 CFR § 164.316(b)(2)(i)', description: 'Access to protected health information' },
    { name: 'pci-2y', duration: 'P2Y', citation: 'PCI DSS v4.0 Req. 10.5.1', description: 'Cardholder-data audit trail: 12 months online plus 12 months archive' },
    { name: 'bsa-5y', duration: 'P5Y', citation: 'BSA 31 CFR § 1020.320(d); 31 CFR § 1010.430', description: 'AML, sanctions and KYC screening' },
    { name: 'insurance-7y', duration: 'P7Y', citation: 'State DOI record retention (most restrictive state)', description: 'Insurance policy transactions' },
    { name: 'claims-10y', duration: 'P10Y', citation: 'State DOI claims regulations', description: 'Insurance claims records' },
    { name: 'mortgage-3y', duration: 'P3Y', citation: 'RESPA 12 CFR § 1024.9; Reg C 12 CFR § 1003.5', description: 'Mortgage origination and HMDA records' },
    { name: 'soc2-1y', duration: 'P1Y', citation: 'SOC 2 CC7.2 (AICPA TSC)', description: 'Security monitoring, logins and data exports' },
    { name: 'auth-failed-90d', duration: 'P90D', citation: 'Security practice (seed retention matrix)', description: 'Failed authentication attempts' },
    { name: 'default-7y', duration: 'P7Y', citation: 'wormseal default: longest common schedule (SOX § 802)', description: 'Events no rule classifies' },
  ],
  rules: [
    { match: 'payment.*', class: 'sox-7y' },
    { match: 'invoice.*', class: 'sox-7y' },
    { match: 'ledger.*', class: 'sox-7y' },
    { match: 'journal.*', class: 'sox-7y' },
    { match: 'config.*', class: 'sox-itgc-3y' },
    { match: 'permission.*', class: 'sox-itgc-3y' },
    { match: 'role.*', class: 'sox-itgc-3y' },
    { match: 'trade.*', class: 'finra-6y' },
    { match: 'order.*', class: 'finra-6y' },
    { match: 'communication.*', class: 'finra-6y' },
    { match: 'phi.*', class: 'hipaa-6y' },
    { match: 'patient.*', class: 'hipaa-6y' },
    { match: 'record.accessed', class: 'hipaa-6y' },
    { match: 'card.*', class: 'pci-2y' },
    { match: 'cardholder.*', class: 'pci-2y' },
    { match: 'ofac.*', class: 'bsa-5y' },
    { match: 'kyc.*', class: 'bsa-5y' },
    { match: 'aml.*', class: 'bsa-5y' },
    { match: 'policy.*', class: 'insurance-7y' },
    { match: 'claim.*', class: 'claims-10y' },
    { match: 'loan.*', class: 'mortgage-3y' },
    { match: 'hmda.*', class: 'mortgage-3y' },
    { match: 'user.login', class: 'soc2-1y' },
    { match: 'user.logout', class: 'soc2-1y' },
    { match: 'session.*', class: 'soc2-1y' },
    { match: 'report.exported', class: 'soc2-1y' },
    { match: 'data.exported', class: 'soc2-1y' },
    { match: 'user.login.failed', class: 'auth-failed-90d' },
    { match: 'auth.failed', class: 'auth-failed-90d' },
  ],
  default: 'default-7y',
};

export function builtinSchedule(): RetentionSchedule {
  return buildSchedule(BUILTIN_SCHEDULE, 'built-in');
}
