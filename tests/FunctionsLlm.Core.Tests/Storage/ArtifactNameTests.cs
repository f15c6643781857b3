using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Core.Tests.Storage;

public sealed class ArtifactNameTests
{
    [Theory]
    [InlineData("training-data")]
    [InlineData("abc")]
    [InlineData("a1-b2")]
    public void Valid_container_names_pass(string name) => ArtifactName.ValidateContainer(name);

    [Theory]
    [InlineData("ab")]
    [InlineData("Upper")]
    [InlineData("-lead")]
    [InlineData("trail-")]
    [InlineData("double--hyphen")]
    [InlineData("under_score")]
    [InlineData("abc\n")]   // $ would match before the newline; the rule is anchored with \z
    public void Invalid_container_names_fail_with_the_rule(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => ArtifactName.ValidateContainer(name));
        Assert.Contains("lowercase letters, digits and single hyphens", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("a//b")]
    [InlineData("/abs")]
    [InlineData("a\\b")]
    [InlineData("./a")]
    [InlineData("")]
    public void Names_cannot_escape_their_container(string name) =>
        Assert.Throws<ArgumentException>(() => ArtifactName.ValidateName(name));

    [Theory]
    [InlineData("faq.jsonl\n", "control characters")]
    [InlineData("a\0b", "control characters")]
    [InlineData("a\tb", "control characters")]
    [InlineData("a\u007fb", "control characters")]
    [InlineData("a%2Fb", "percent-escapes")]
    [InlineData("%2e%2e/x", "percent-escapes")]
    [InlineData("a\\b", "separator")]
    public void Names_with_control_characters_percent_escapes_or_backslashes_fail_with_the_rule(string name, string rule)
    {
        var error = Assert.Throws<ArgumentException>(() => ArtifactName.ValidateName(name));
        Assert.Contains(rule, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(error.Message, c => char.IsControl(c));   // shown escaped: one line in a log
    }

    [Fact]
    public void A_name_may_hold_a_lone_percent_sign_and_any_script() =>
        ArtifactName.ValidateName("客服/100% 满意.jsonl");

    [Theory]
    [InlineData("")]
    [InlineData("run1/")]
    [InlineData("run1/clean")]
    public void Prefixes_may_be_empty_or_end_with_a_slash(string prefix) => ArtifactName.ValidatePrefix(prefix);

    [Theory]
    [InlineData("/")]
    [InlineData("../")]
    [InlineData("/abs/")]
    [InlineData("a//")]
    [InlineData("a/./b/")]
    [InlineData("a/../")]
    [InlineData("run1\n/")]
    [InlineData("run%2F1/")]
    [InlineData("a\\b/")]
    public void Prefixes_follow_the_name_rules(string prefix) =>
        Assert.Throws<ArgumentException>(() => ArtifactName.ValidatePrefix(prefix));
}
