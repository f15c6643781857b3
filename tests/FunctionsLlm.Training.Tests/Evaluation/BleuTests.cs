using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Training.Tests.Evaluation;

public sealed class BleuTests
{
    [Fact]
    public void Sacrebleu_s_documented_corpus_example_gives_48_53()
    {
        // sacrebleu's README: BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18),
        // with two reference streams and its default 13a tokenizer (which splits off the final period, keeps "wasn't").
        string[][] hypotheses = [Words("The dog bit the man ."), Words("It wasn't surprising ."), Words("The man had just bitten him .")];
        string[][][] references =
        [
            [Words("The dog bit the man ."), Words("The dog had bit the man .")],
            [Words("It was not unexpected ."), Words("No one was surprised .")],
            [Words("The man bit him first ."), Words("The man had bitten the dog .")],
        ];
        var statistics = hypotheses.Select((h, i) => BleuStatistics.Of(h, references[i])).Aggregate(BleuStatistics.Zero, (a, b) => a.Add(b));

        var bleu = Bleu.Compute(statistics, effectiveOrder: false);

        Assert.Equal(0.4853, bleu.Score, 4);
        Assert.Equal([0.824, 0.500, 0.455, 0.375], bleu.Precisions.Select(p => Math.Round(p, 3)));
        Assert.Equal(0.943, bleu.BrevityPenalty, 3);
        Assert.Equal((17, 18), (bleu.HypothesisLength, bleu.ReferenceLength));
    }

    [Fact]
    public void A_short_perfect_hypothesis_gets_only_the_brevity_penalty()
    {
        // 猫坐在垫子上 against 猫坐在垫子上了: every n-gram matches (6/6, 5/5, 4/4, 3/3); c = 6 < r = 7, so
        // BLEU = BP = exp(1 − 7/6) = 0.846481724890614 (NLTK 3.8 sentence_bleu, method3: 0.846481724890614).
        var bleu = Bleu.Sentence("猫坐在垫子上", "猫坐在垫子上了");
        Assert.Equal(Math.Exp(1 - (7.0 / 6)), bleu.Score, 12);
        Assert.Equal([1.0, 1.0, 1.0, 1.0], bleu.Precisions);
    }

    [Fact]
    public void Orders_without_a_match_are_smoothed_geometrically()
    {
        // ABCD against ABXD: 1-grams 3/4, 2-grams 1/3 (AB), 3-grams 0/2 → 1/(2·2), 4-grams 0/1 → 1/(4·1); BP = 1.
        // BLEU = (3/4 · 1/3 · 1/4 · 1/4)^(1/4) = (1/64)^(1/4) = 2^−1.5 (NLTK method3: 0.3535533905932738).
        var bleu = Bleu.Sentence("ABCD", "ABXD");
        Assert.Equal(Math.Pow(2, -1.5), bleu.Score, 12);
        Assert.Equal([3.0 / 4, 1.0 / 3, 1.0 / 4, 1.0 / 4], bleu.Precisions);
    }

    [Fact]
    public void Chinese_sentences_agree_with_nltk()
    {
        // NLTK 3.8 (Debian python3-nltk): sentence_bleu([list(ref)], list(hyp), smoothing_function=SmoothingFunction().method3),
        // white space removed from both; every hypothesis here has n-grams of all four orders, where NLTK's method3 and
        // sacrebleu's "exp" smoothing coincide.
        foreach (var (hypothesis, reference, expected) in Pairs)
            Assert.Equal(expected, Bleu.Sentence(hypothesis, reference).Score, 12);
    }

    [Fact]
    public void Corpus_bleu_agrees_with_nltk()
    {
        // NLTK 3.8 corpus_bleu over the same three pairs, method3: 0.43735941631093966.
        Assert.Equal(0.43735941631093966, Bleu.Corpus(Pairs.Select(p => (p.Hypothesis, p.Reference))).Score, 12);
    }

    [Fact]
    public void Identical_text_scores_1_and_a_hypothesis_without_matches_0()
    {
        Assert.Equal(1, Bleu.Sentence("您好，请问有什么可以帮您？", "您好，请问有什么可以帮您？").Score, 12);
        Assert.Equal(0, Bleu.Sentence("退款", "换货流程").Score);
        Assert.Equal(0, Bleu.Sentence("", "换货流程").Score);
        Assert.Equal(0, Bleu.Sentence("", "换货流程").BrevityPenalty);
    }

    [Fact]
    public void Sentences_shorter_than_four_characters_use_the_effective_order_and_corpora_do_not()
    {
        // "好的" against "好的": 1-grams 2/2, 2-grams 1/1, no 3- or 4-grams. sacrebleu's sentence_bleu (effective order)
        // averages the two orders it has: 1. Its corpus BLEU stops at the first order with no n-gram: 0.
        Assert.Equal(1, Bleu.Sentence("好的", "好的").Score, 12);
        Assert.Equal(0, Bleu.Corpus([("好的", "好的")]).Score);
    }

    [Fact]
    public void The_closest_reference_length_wins_and_ties_go_to_the_shorter()
    {
        // Hypothesis of 3 words, references of 2 and 4 words: both 1 away, so r = 2 (sacrebleu and NLTK agree).
        var statistics = BleuStatistics.Of(Words("a b c"), [Words("a b c d"), Words("a b")]);
        Assert.Equal(2, statistics.ReferenceLength);
    }

    private static readonly (string Hypothesis, string Reference, double Expected)[] Pairs =
    [
        ("您好，您的订单已经发货，请耐心等待。", "您好，您的订单已于今天发货，请注意查收。", 0.4831233610237384),
        ("退货请在七天内申请。", "您可以在收货后七天内申请退货。", 0.2918005230159874),
        ("Please restart the router.", "Please restart your router and try again.", 0.4489906836832809),
    ];

    private static string[] Words(string text) => text.Split(' ');
}
