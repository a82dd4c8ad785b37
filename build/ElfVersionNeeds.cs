// Compiled twice: by MSBuild's RoslynCodeTaskFactory as the RnnWeakenGlibcxxNeed task (see
// TorchSharpNative.targets), and into the tests (RNNCLUSTER_TESTS), which read the flags it wrote.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace RnnCluster.Build
{
    /// <summary>One version a shared library needs from another (an ELF .gnu.version_r auxiliary entry).</summary>
    public sealed class ElfVersionNeed
    {
        public string Version = "";
        public int FlagsOffset;
        public ushort Flags;
        public List<string> Symbols = new List<string>();

        /// <summary>VER_FLG_WEAK: the loader accepts the library when the version is missing.</summary>
        public bool IsWeak => (Flags & 0x2) != 0;
    }

    /// <summary>Reads the version needs of a little-endian ELF64 file and the dynamic symbols bound to each.</summary>
    public static class ElfVersionNeeds
    {
        public static List<ElfVersionNeed> Read(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            {
                throw new InvalidDataException("not a little-endian 64-bit ELF file");
            }

            long shoff = U64(elf, 0x28);
            int shentsize = U16(elf, 0x3a), shnum = U16(elf, 0x3c);
            long verneed = -1, verneedStrings = -1, verneedCount = 0, versym = -1, dynsym = -1, dynsymStrings = -1, dynsymCount = 0;
            for (int i = 0; i < shnum; i++)
            {
                long header = shoff + ((long)i * shentsize);
                uint type = U32(elf, header + 4);
                long offset = U64(elf, header + 0x18), size = U64(elf, header + 0x20);
                long linked = U64(elf, shoff + ((long)U32(elf, header + 0x28) * shentsize) + 0x18);
                if (type == 0x6ffffffe) { verneed = offset; verneedStrings = linked; verneedCount = U32(elf, header + 0x2c); }
                else if (type == 0x6fffffff) { versym = offset; }
                else if (type == 11) { dynsym = offset; dynsymStrings = linked; dynsymCount = size / 24; }
            }

            if (verneed < 0 || versym < 0 || dynsym < 0)
            {
                throw new InvalidDataException("no .gnu.version_r, .gnu.version or .dynsym section");
            }

            var byIndex = new Dictionary<int, ElfVersionNeed>();
            var needs = new List<ElfVersionNeed>();
            long need = verneed;
            for (long n = 0; n < verneedCount; n++)
            {
                long aux = need + U32(elf, need + 8);
                for (int k = 0; k < U16(elf, need + 2); k++)
                {
                    var entry = new ElfVersionNeed { Version = Text(elf, verneedStrings + U32(elf, aux + 8)), FlagsOffset = (int)aux + 4, Flags = U16(elf, aux + 4) };
                    needs.Add(entry);
                    byIndex[U16(elf, aux + 6)] = entry;
                    aux += U32(elf, aux + 12);
                }

                need += U32(elf, need + 12);
            }

            for (long s = 0; s < dynsymCount; s++)
            {
                if (byIndex.TryGetValue(U16(elf, versym + (s * 2)) & 0x7fff, out var owner))
                {
                    owner.Symbols.Add(Text(elf, dynsymStrings + U32(elf, dynsym + (s * 24))));
                }
            }

            return needs;
        }

        private static ushort U16(byte[] b, long o) => BitConverter.ToUInt16(b, (int)o);

        private static uint U32(byte[] b, long o) => BitConverter.ToUInt32(b, (int)o);

        private static long U64(byte[] b, long o) => (long)BitConverter.ToUInt64(b, (int)o);

        private static string Text(byte[] b, long o)
        {
            int end = (int)o;
            while (b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, (int)o, end - (int)o);
        }
    }

#if !RNNCLUSTER_TESTS
    /// <summary>
    /// Marks one version need of each file weak, after checking that only the allowed symbols are bound to
    /// it (so a library that really calls into the newer libstdc++ fails the build instead of the run).
    /// </summary>
    public sealed class RnnWeakenGlibcxxNeed : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        [Microsoft.Build.Framework.Required]
        public string Version { get; set; } = "";

        [Microsoft.Build.Framework.Required]
        public string AllowedSymbols { get; set; } = "";

        public override bool Execute()
        {
            var allowed = new HashSet<string>(AllowedSymbols.Split(';'), StringComparer.Ordinal);
            foreach (var item in Files)
            {
                var path = item.ItemSpec;
                if (!File.Exists(path))
                {
                    continue;
                }

                var elf = File.ReadAllBytes(path);
                List<ElfVersionNeed> needs;
                try
                {
                    needs = ElfVersionNeeds.Read(elf);
                }
                catch (InvalidDataException e)
                {
                    Log.LogError("{0}: {1}", path, e.Message);
                    return false;
                }

                var target = needs.Find(n => n.Version == Version);
                if (target is null || target.IsWeak)
                {
                    continue;
                }

                foreach (var symbol in target.Symbols)
                {
                    if (!allowed.Contains(symbol))
                    {
                        Log.LogError("{0}: symbol {1} needs {2}; marking that version weak would not be safe. This TorchSharp build needs a newer libstdc++ than the system has.", path, symbol, Version);
                        return false;
                    }
                }

                var flags = (ushort)(target.Flags | 0x2);
                elf[target.FlagsOffset] = (byte)(flags & 0xff);
                elf[target.FlagsOffset + 1] = (byte)(flags >> 8);
                var temporary = path + ".weak-tmp";
                File.WriteAllBytes(temporary, elf);

                // Unlink and rename, not rewrite: the output file may be a hard link into the package cache.
                File.Delete(path);
                File.Move(temporary, path);
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "marked the {0} need of {1} weak", Version, path);
            }

            return true;
        }
    }
#endif
}
