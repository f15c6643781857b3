using FunctionsLlm.Build;

namespace FunctionsLlm.Modeling.Tests.Build;

public sealed class ElfWeakVersionTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-elf-");

    public void Dispose() => _dir.Dispose();

    private static string PackagedLibrary()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    [Fact]
    public void The_packaged_library_requires_the_version_strongly_and_marking_it_weak_changes_only_that_entry()
    {
        string copy = Path.Combine(_dir, "libLibTorchSharp.so");
        File.Copy(PackagedLibrary(), copy);
        var before = ElfWeakVersion.Requirements(copy);
        Assert.Contains(("libstdc++.so.6", "GLIBCXX_3.4.32", false), before);

        Assert.True(ElfWeakVersion.MarkWeak(copy, "GLIBCXX_3.4.32"));

        var after = ElfWeakVersion.Requirements(copy);
        var expected = before.Select(r => r.Version == "GLIBCXX_3.4.32" ? r with { Weak = true } : r).ToList();
        Assert.Equal(expected, after);
        Assert.Equal(new FileInfo(PackagedLibrary()).Length, new FileInfo(copy).Length);
    }

    [Fact]
    public void Marking_twice_is_a_no_op()
    {
        string copy = Path.Combine(_dir, "lib.so");
        File.Copy(PackagedLibrary(), copy);
        Assert.True(ElfWeakVersion.MarkWeak(copy, "GLIBCXX_3.4.32"));
        byte[] once = File.ReadAllBytes(copy);

        Assert.False(ElfWeakVersion.MarkWeak(copy, "GLIBCXX_3.4.32"));
        Assert.Equal(once, File.ReadAllBytes(copy));
    }

    [Fact]
    public void A_file_that_is_not_elf_is_refused_with_a_clear_error()
    {
        string path = Path.Combine(_dir, "not.so");
        File.WriteAllText(path, "plain text, long enough to pass the length check of sixty-four bytes....");
        var error = Assert.Throws<InvalidDataException>(() => ElfWeakVersion.MarkWeak(path, "GLIBCXX_3.4.32"));
        Assert.Contains("not an ELF file", error.Message);
    }

    [Fact]
    public void The_system_libstdcxx_is_detected_by_its_version_strings()
    {
        // The libstdc++ this test process itself has loaded (the .NET host links it).
        string libstdcxx = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && f[5].Contains("libstdc++.so.6", StringComparison.Ordinal)).Select(f => f[5]).First();
        Assert.True(ElfWeakVersion.LibraryDefines(libstdcxx, "GLIBCXX_3.4.19"));
        Assert.False(ElfWeakVersion.LibraryDefines(libstdcxx, "GLIBCXX_99.0"));
    }
}
