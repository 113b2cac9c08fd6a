/** Shapes of API answers that several suites read. */
export interface Problem {
  title?: string;
  status: number;
  detail: string;
  errors?: Array<{ location: string; message: string }>;
}

export interface Validation {
  valid: boolean;
  issues: Array<{ type: string; path: string; message: string; severity: string; reference: string }>;
}
