namespace FunctionsLlm.Data.Cleaning;

/// <summary>An example reject in report.json (the record text shortened for reading; rejected.jsonl has it whole).</summary>
public sealed record RejectExample(long Line, long? Index, string Message, string Record);
