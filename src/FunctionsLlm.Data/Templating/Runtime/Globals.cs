using System.Globalization;
using System.Text.RegularExpressions;

namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>The global scope: constants, <c>namespace</c>, <c>range</c>, <c>raise_exception</c>, <c>strftime_now</c>.</summary>
internal static partial class Globals
{
    [GeneratedRegex("%[YmdbBHM%]")]
    private static partial Regex StrftimeDirective();

    public static Scope Create(TimeProvider clock)
    {
        var scope = new Scope(null);
        scope.Set("true", true);
        scope.Set("false", false);
        scope.Set("none", null);
        scope.Set("True", true);
        scope.Set("False", false);
        scope.Set("None", null);
        scope.Set("namespace", new FunctionValue("namespace", (args, _) => Namespace(args)));
        scope.Set("range", new FunctionValue("range", (args, _) => Range(args)));
        scope.Set("raise_exception", new FunctionValue("raise_exception", (args, _) => throw TemplateRenderException.Raised(
            string.Join(",", args.Positional.Select(ValueFormatting.ToPrimitiveText)))));
        scope.Set("strftime_now", new FunctionValue("strftime_now", (args, _) =>
            Strftime(clock.GetLocalNow().DateTime, args.PositionalOrKeyword(0, "format") as string
                ?? throw new TemplateRenderException("strftime_now() format must be a string"))));
        return scope;
    }

    /// <summary>The directives the reference engine supports; any other directive is left as written.</summary>
    public static string Strftime(DateTime date, string format) => StrftimeDirective().Replace(format, match => match.Value switch
    {
        "%Y" => date.Year.ToString(CultureInfo.InvariantCulture),
        "%m" => date.Month.ToString("00", CultureInfo.InvariantCulture),
        "%d" => date.Day.ToString("00", CultureInfo.InvariantCulture),
        "%b" => CultureInfo.InvariantCulture.DateTimeFormat.GetAbbreviatedMonthName(date.Month),
        "%B" => CultureInfo.InvariantCulture.DateTimeFormat.GetMonthName(date.Month),
        "%H" => date.Hour.ToString("00", CultureInfo.InvariantCulture),
        "%M" => date.Minute.ToString("00", CultureInfo.InvariantCulture),
        _ => "%",
    });

    private static NamespaceValue Namespace(CallArguments args)
    {
        if (args.Positional.Count > 1)
            throw new TemplateRenderException($"namespace() takes at most 1 positional argument, got {args.Positional.Count}");
        var items = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        if (args.Positional.Count == 1)
        {
            switch (args.Positional[0])
            {
                case DictValue dict:
                    foreach (var (key, value) in dict.Items)
                        items[key] = value;
                    break;
                case ListValue pairs:
                    foreach (var pair in pairs.Items)
                    {
                        if (pair is not ListValue { Items: [string key, var value] })
                            throw new TemplateRenderException("namespace() expects a mapping or (key, value) pairs");
                        items[key] = value;
                    }

                    break;
                case var other:
                    throw new TemplateRenderException($"namespace() cannot be built from {TypeNames.Of(other)}");
            }
        }

        foreach (var (key, value) in args.Keywords)
            items[key] = value;
        return new NamespaceValue(items);
    }

    private static ListValue Range(CallArguments args)
    {
        if (args.Positional.Count is < 1 or > 3 || args.Positional.Any(a => a is not long))
            throw new TemplateRenderException("range() expects 1 to 3 integer arguments");
        var numbers = args.Positional.Cast<long>().ToList();
        var (start, stop) = numbers.Count == 1 ? (0L, numbers[0]) : (numbers[0], numbers[1]);
        var step = numbers.Count == 3 ? numbers[2] : 1;
        if (step == 0)
            throw new TemplateRenderException("range() step must not be zero");
        var result = new List<object?>();
        for (var i = start; step > 0 ? i < stop : i > stop; i += step)
            result.Add(i);
        return new ListValue(result);
    }
}
