using RnnCluster.Data;
using RnnCluster.Data.Tasks;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Data.Tasks;

public sealed class TaskLoaderTests
{
    private static readonly TaskOptions Acceptor = new() { Kind = TaskKind.Acceptor };

    [Fact]
    public void An_acceptor_directory_builds_labels_and_vocabulary_from_train_with_reserved_ids_first()
    {
        using var dir = new TempDirectory();
        dir.Write("train.tsv", "spam\tbuy buy now\nham\tsee you\n");
        dir.Write("valid.tsv", "ham\tsee now later\n");
        dir.Write("test.tsv", "spam\tbuy\n");

        var data = TaskLoader.Load(dir.Path, Acceptor);

        Assert.Equal(["<unk>", "<eos>", "<pad>", "<bos>", "buy", "now", "see", "you"], data.SourceVocabulary.Tokens);
        Assert.Equal(["ham", "spam"], data.Labels!.Labels);
        Assert.Equal([[4, 4, 5], [6, 7]], data.Train.Sources);
        Assert.Equal([1, 0], data.Train.Labels!);
        Assert.Equal([[6, 5, TaskVocabulary.UnknownId]], data.Valid.Sources); // "later" is not in train
        Assert.Equal(dir.Combine("valid.tsv"), data.Valid.Name);
        Assert.Equal(2, data.OutputCount);
    }

    [Fact]
    public void A_label_that_training_never_saw_is_named_with_file_line_and_the_known_labels()
    {
        using var dir = new TempDirectory();
        dir.Write("train.tsv", "spam\tbuy now\nham\tsee you\n");
        dir.Write("valid.tsv", "ham\tok\nham\tfine\nphishing\tclick here\n");
        dir.Write("test.tsv", "spam\tbuy\n");

        var error = Assert.Throws<DataException>(() => TaskLoader.Load(dir.Path, Acceptor));

        Assert.Equal($"{dir.Combine("valid.tsv")}:3: unknown label 'phishing' (the training data has 2 labels: ham, spam)", error.Message);
    }

    [Fact]
    public void An_unknown_tag_at_evaluation_is_named_by_the_line_of_that_token()
    {
        using var dir = new TempDirectory();
        var vocabularies = BuiltinTasks.Vocabularies(BuiltinTasks.Tagging);
        var path = dir.Write("eval.conll", "the\tDET\ndog\tNOUN\n\nthe\tDET\ncats\tNOUN\nsleep\tVRB\n");

        var error = Assert.Throws<DataException>(() => TaskLoader.LoadForEvaluation(path, vocabularies, new TaskOptions()));

        Assert.StartsWith($"{path}:6: unknown tag 'VRB' (the training data has 7 tags: ADJ, DET, NOUN, PREP, PUNCT, REL, VERB)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluation_files_are_encoded_with_the_model_vocabularies()
    {
        using var dir = new TempDirectory();
        var vocabularies = BuiltinTasks.Vocabularies(BuiltinTasks.Reverse);
        var path = dir.Write("eval.tsv", "abc\tcba\nxj\tjx\n");

        var split = TaskLoader.LoadForEvaluation(path, vocabularies, new TaskOptions());

        var a = vocabularies.Source.IdOf("a");
        var j = vocabularies.Source.IdOf("j");
        Assert.Equal([TaskVocabulary.UnknownId, j], split.Sources[1]);
        Assert.Equal(vocabularies.Target!.IdOf("c"), split.Targets![0][0]);
        Assert.Equal(a, split.Sources[0][0]);
    }

    [Fact]
    public void A_directory_names_the_missing_split_file_with_the_extension_of_its_kind()
    {
        using var dir = new TempDirectory();
        dir.Write("train.conll", "a\tX\n");
        dir.Write("valid.conll", "a\tX\n");

        var error = Assert.Throws<DataException>(() => TaskLoader.Load(dir.Path, new TaskOptions { Kind = TaskKind.Transducer }));

        Assert.Equal($"missing file {dir.Combine("test.conll")} (the transducer directory {dir.Path} needs train.conll, valid.conll and test.conll)", error.Message);
    }

    [Fact]
    public void Plain_files_need_data_task()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("all.tsv", "a\tb\n");

        var error = Assert.Throws<DataException>(() => TaskLoader.Load(path, new TaskOptions()));

        Assert.StartsWith($"{path}: set data.task", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_file_is_split_by_example_hash_and_the_assignment_survives_reordering()
    {
        using var dir = new TempDirectory();
        var lines = Enumerable.Range(0, 300).Select(i => $"w{i}\tv{i}").ToList();
        var forward = dir.Write("forward.tsv", string.Join("\n", lines));
        lines.Reverse();
        var backward = dir.Write("backward.tsv", string.Join("\n", lines));
        var options = new TaskOptions { Kind = TaskKind.EncoderDecoder };

        var a = TaskLoader.Load(forward, options);
        var b = TaskLoader.Load(backward, options);

        Assert.Equal(300, a.Train.Count + a.Valid.Count + a.Test.Count);
        Assert.Equal(a.Test.Count, b.Test.Count);
        Assert.Equal(
            a.Test.Sources.Select(s => string.Concat(s.Select(id => a.SourceVocabulary[id]))).Order(StringComparer.Ordinal),
            b.Test.Sources.Select(s => string.Concat(s.Select(id => b.SourceVocabulary[id]))).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_single_file_too_small_for_three_splits_says_so()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("tiny.tsv", "spam\tbuy now\n");

        var error = Assert.Throws<DataException>(() => TaskLoader.Load(path, Acceptor));

        Assert.StartsWith($"{path}: 1 examples split by hash into", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_of_only_unicode_spaces_is_an_empty_text()
    {
        using var dir = new TempDirectory();
        dir.Write("train.tsv", "spam\tbuy now\n");
        dir.Write("valid.tsv", "spam\tbuy now\n");
        dir.Write("test.tsv", "spam\tbuy\nham\t\u00a0\u2003\n");

        var error = Assert.Throws<DataException>(() => TaskLoader.Load(dir.Path, Acceptor));

        Assert.Contains("test.tsv:2: empty text after the tab", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Builtin_tasks_refuse_a_contradicting_data_task()
    {
        var error = Assert.Throws<DataException>(() => TaskLoader.Load(BuiltinTasks.Reverse, Acceptor));

        Assert.Equal("builtin:reverse holds a data set for the encoder-decoder task, but data.task = acceptor", error.Message);
    }

    [Fact]
    public void Unknown_builtin_tasks_list_the_known_ones()
    {
        var error = Assert.Throws<DataException>(() => TaskLoader.Load("builtin:sorting", new TaskOptions()));

        Assert.Equal("unknown builtin task 'builtin:sorting' (known: builtin:agreement-number, builtin:tagging, builtin:reverse)", error.Message);
    }

    [Fact]
    public void Text_spelling_a_reserved_token_is_encoded_as_unknown_never_as_padding()
    {
        using var dir = new TempDirectory();
        dir.Write("train.tsv", "spam\t<pad> <bos> buy\n");
        dir.Write("valid.tsv", "spam\tbuy\n");
        dir.Write("test.tsv", "spam\tbuy\n");

        var data = TaskLoader.Load(dir.Path, Acceptor);

        Assert.Equal([TaskVocabulary.UnknownId, TaskVocabulary.UnknownId, 4], data.Train.Sources[0]);
        Assert.Equal(5, data.SourceVocabulary.Count);
    }
}
