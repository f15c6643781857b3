// Compiled twice (netstandard2.0 for MSBuild, so no spans): by MSBuild's RoslynCodeTaskFactory (Directory.Build.targets) as the task that fixes
// libLibTorchSharp.so after build/publish, and by FunctionsLlm.Modeling.Tests (ELF_WEAK_VERSION_TESTS) to test it.
#nullable enable
#pragma warning disable IDE0161 // RoslynCodeTaskFactory compiles C# 7.3: no file-scoped namespaces
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FunctionsLlm.Build
{
    /// <summary>
    /// Marks a symbol-version requirement of an ELF64 shared object as weak (VER_FLG_WEAK in .gnu.version_r),
    /// so the dynamic loader accepts a system library that lacks that version. libLibTorchSharp.so asks for
    /// GLIBCXX_3.4.32 only for std::ios_base_library_init, which it never calls; Debian 12 ships 3.4.30.
    /// </summary>
    public static class ElfWeakVersion
    {
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlagWeak = 0x2;

        /// <summary>Whether a shared library defines the version (its name appears as a string in the file).</summary>
        public static bool LibraryDefines(string libraryPath, string version)
        {
            byte[] bytes = File.ReadAllBytes(libraryPath);
            byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
            for (int i = 0; i + needle.Length <= bytes.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && bytes[i + j] == needle[j])
                {
                    j++;
                }
                if (j == needle.Length)
                {
                    return true;
                }
            }
            return false;
        }

        /// <summary>The versions the file requires and whether each is weak, as (library, version, weak).</summary>
        public static List<(string Library, string Version, bool Weak)> Requirements(string elfPath)
        {
            var found = new List<(string, string, bool)>();
            byte[] elf = File.ReadAllBytes(elfPath);
            foreach (var (file, name, flagsOffset) in Walk(elf))
            {
                found.Add((file, name, (ReadU16(elf, flagsOffset) & VerFlagWeak) != 0));
            }
            return found;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on every requirement named <paramref name="version"/>. Returns true when the file
        /// changed; false when it was already weak or not required (idempotent). Writes a temporary copy and renames
        /// it over the original, so a hard-linked package cache is never modified and a crash leaves no half file.
        /// </summary>
        public static bool MarkWeak(string elfPath, string version)
        {
            byte[] elf = File.ReadAllBytes(elfPath);
            bool changed = false;
            foreach (var (_, name, flagsOffset) in Walk(elf))
            {
                ushort flags = ReadU16(elf, flagsOffset);
                if (name == version && (flags & VerFlagWeak) == 0)
                {
                    flags |= VerFlagWeak;
                    elf[flagsOffset] = (byte)flags;
                    elf[flagsOffset + 1] = (byte)(flags >> 8);
                    changed = true;
                }
            }
            if (!changed)
            {
                return false;
            }
            string temp = elfPath + ".weak-tmp";
            File.WriteAllBytes(temp, elf);
            File.Replace(temp, elfPath, null);
            return true;
        }

        // Yields (needed library, version name, offset of vna_flags) for every Vernaux entry.
        private static IEnumerable<(string File, string Name, int FlagsOffset)> Walk(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            {
                throw new InvalidDataException("not an ELF file");
            }
            if (elf[4] != 2 || elf[5] != 1)
            {
                throw new InvalidDataException("only little-endian ELF64 is supported");
            }
            long sectionTable = (long)ReadU64(elf, 0x28);
            int sectionSize = ReadU16(elf, 0x3A);
            int sectionCount = ReadU16(elf, 0x3C);
            for (int i = 0; i < sectionCount; i++)
            {
                int header = Checked(elf, sectionTable + (long)i * sectionSize, 64);
                if (ReadU32(elf, header + 4) != ShtGnuVerneed)
                {
                    continue;
                }
                int offset = Checked(elf, (long)ReadU64(elf, header + 0x18), 16);
                int strings = Checked(elf, sectionTable + (long)ReadU32(elf, header + 0x28) * sectionSize, 64);
                int stringsOffset = (int)ReadU64(elf, strings + 0x18);
                uint entries = ReadU32(elf, header + 0x2C);
                for (uint n = 0; n < entries; n++)
                {
                    int need = Checked(elf, offset, 16);
                    string file = ReadString(elf, stringsOffset + (int)ReadU32(elf, need + 4));
                    int aux = Checked(elf, need + (long)ReadU32(elf, need + 8), 16);
                    for (int a = 0; a < ReadU16(elf, need + 2); a++)
                    {
                        yield return (file, ReadString(elf, stringsOffset + (int)ReadU32(elf, aux + 8)), aux + 4);
                        aux = Checked(elf, aux + (long)ReadU32(elf, aux + 12), 16);
                    }
                    offset += (int)ReadU32(elf, need + 12);
                }
            }
        }

        private static int Checked(byte[] elf, long offset, int length)
        {
            if (offset < 0 || offset + length > elf.Length)
            {
                throw new InvalidDataException("truncated or corrupt ELF file (offset " + offset + ")");
            }
            return (int)offset;
        }

        private static string ReadString(byte[] elf, int offset)
        {
            int end = Array.IndexOf(elf, (byte)0, Checked(elf, offset, 1));
            return Encoding.ASCII.GetString(elf, offset, (end < 0 ? elf.Length : end) - offset);
        }

        private static ushort ReadU16(byte[] b, int o) => (ushort)(b[o] | b[o + 1] << 8);

        private static uint ReadU32(byte[] b, int o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);

        private static ulong ReadU64(byte[] b, int o) => ReadU32(b, o) | (ulong)ReadU32(b, o + 4) << 32;
    }

#if !ELF_WEAK_VERSION_TESTS
    /// <summary>MSBuild task: weakens <see cref="Version"/> in each file when no system libstdc++ defines it.</summary>
    public sealed class WeakenMissingLibraryVersion : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        [Microsoft.Build.Framework.Required]
        public string Version { get; set; } = "";

        [Microsoft.Build.Framework.Required]
        public string[] SystemLibraries { get; set; } = Array.Empty<string>();

        public override bool Execute()
        {
            string? library = Array.Find(SystemLibraries, File.Exists);
            if (library == null || ElfWeakVersion.LibraryDefines(library, Version))
            {
                return true;
            }
            foreach (var item in Files)
            {
                if (ElfWeakVersion.MarkWeak(item.ItemSpec, Version))
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                        "Marked " + Version + " weak in " + item.ItemSpec + " (" + library + " lacks it)");
                }
            }
            return true;
        }
    }
#endif
}
