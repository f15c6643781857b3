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
    [InlineData("")]
    [InlineData("run1/")]
    [InlineData("run1/clean")]
    public void Prefixes_may_be_empty_or_end_with_a_slash(string prefix) => ArtifactName.ValidatePrefix(prefix);
}
