namespace FunctionsLlm.Modeling.Runtime;

/// <summary>
/// A count the JIT sees as a constant: a generic kernel takes one as a type argument (rows, heads) and each instantiation
/// is compiled for its count, dropping the code past it.
/// </summary>
internal interface ICount
{
    static abstract int Value { get; }
}

/// <summary>The counts kernels are instantiated for.</summary>
internal static class Count
{
    public readonly struct One : ICount
    {
        public static int Value => 1;
    }

    public readonly struct Two : ICount
    {
        public static int Value => 2;
    }

    public readonly struct Three : ICount
    {
        public static int Value => 3;
    }

    public readonly struct Four : ICount
    {
        public static int Value => 4;
    }

    public readonly struct Five : ICount
    {
        public static int Value => 5;
    }

    public readonly struct Six : ICount
    {
        public static int Value => 6;
    }

    public readonly struct Seven : ICount
    {
        public static int Value => 7;
    }

    public readonly struct Eight : ICount
    {
        public static int Value => 8;
    }
}
