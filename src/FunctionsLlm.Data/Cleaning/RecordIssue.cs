namespace FunctionsLlm.Data.Cleaning;

/// <summary>A reason with a message that names the field and the problem.</summary>
public readonly record struct RecordIssue(RejectReason Reason, string Message);
