using System.Text;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Data.Fetch;

/// <summary>Writes the train, valid and test files of a conversion (UTF-8, "\n"), counting examples per split.</summary>
internal sealed class SplitFileWriter : IDisposable
{
    private readonly string _dataset;
    private readonly string _separator;
    private readonly (string FileName, StreamWriter Writer)[] _files;
    private readonly int[] _counts = new int[3];

    /// <param name="separator">Written after every example: "\n" for one example per line, "\n\n" for documents.</param>
    public SplitFileWriter(string dataset, string outputDirectory, string extension, string separator)
    {
        _dataset = dataset;
        _separator = separator;
        _files = Enum.GetValues<DataSplit>()
            .Select(split =>
            {
                var name = DatasetManifest.SplitName(split) + extension;
                var stream = new FileStream(Path.Combine(outputDirectory, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                return (name, new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" });
            })
            .ToArray();
    }

    public void Add(DataSplit split, string example)
    {
        var writer = _files[(int)split].Writer;
        writer.Write(example);
        writer.Write(_separator);
        _counts[(int)split]++;
    }

    /// <summary>Flushes every file to disk; a split left empty is an error (a data set needs all three).</summary>
    public IReadOnlyList<ConvertedFile> Finish()
    {
        var result = new List<ConvertedFile>(3);
        foreach (var split in Enum.GetValues<DataSplit>())
        {
            var (name, writer) = _files[(int)split];
            writer.Flush();
            ((FileStream)writer.BaseStream).Flush(flushToDisk: true);
            if (_counts[(int)split] == 0)
            {
                throw new DataException($"converting {_dataset} left the {DatasetManifest.SplitName(split)} split empty");
            }

            result.Add(new ConvertedFile(split, name, _counts[(int)split]));
        }

        return result;
    }

    public void Dispose()
    {
        foreach (var (_, writer) in _files)
        {
            writer.Dispose();
        }
    }
}
