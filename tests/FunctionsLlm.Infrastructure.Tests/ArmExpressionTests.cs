using System.Text.Json.Nodes;
using FunctionsLlm.Infrastructure.Tests.Arm;

namespace FunctionsLlm.Infrastructure.Tests;

/// <summary>The evaluator the template tests rely on, on hand-written templates.</summary>
public sealed class ArmExpressionTests
{
    private static readonly JsonObject Template = JsonNode.Parse("""
        {
          "parameters": { "env": { "type": "string" }, "size": { "type": "int", "defaultValue": 3 } },
          "variables": {
            "prefix": "[format('flm-{0}', toLower(parameters('env')))]",
            "names": ["a", "b"],
            "token": "[uniqueString(resourceGroup().id)]"
          },
          "resources": [
            {
              "type": "Microsoft.Resources/deployments",
              "apiVersion": "2025-04-01",
              "name": "child",
              "properties": {
                "parameters": { "name": { "value": "[concat(variables('prefix'), '-x')]" } },
                "template": {
                  "parameters": { "name": { "type": "string" } },
                  "resources": [],
                  "outputs": { "id": { "type": "string", "value": "[resourceId('Microsoft.Web/sites/slots', parameters('name'), 'blue')]" } }
                }
              }
            }
          ]
        }
        """)!.AsObject();

    private static object? Eval(string expression) =>
        ArmDeployment.Root(Template, null, new Dictionary<string, object?> { ["env"] = "DEV" })
            .Evaluate(JsonValue.Create(expression));

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("[[literal]", "[literal]")]
    [InlineData("[variables('prefix')]", "flm-dev")]
    [InlineData("[format('{0}/{1}', parameters('size'), 'it''s')]", "3/it's")]
    [InlineData("[reference(resourceId('Microsoft.Resources/deployments', 'child'), '2025-04-01').outputs.id.value]",
        "Microsoft.Web/sites/flm-dev-x/slots/blue")]
    [InlineData("[format('{0}-{1}', take(variables('token'), 4), variables('names')[1])]", "⟨uniqueString()⟩-b")]
    [InlineData("[reference(resourceId('Microsoft.X/y', 'n'), '1').principalId]", "⟨reference Microsoft.X/y/n.principalId⟩")]
    [InlineData("[if(empty(''), 'yes', 'no')]", "yes")]
    public void Evaluates(string expression, string expected) =>
        Assert.Equal(expected, ArmFunctions.Text(Eval(expression)));

    [Fact]
    public void Evaluates_lambdas()
    {
        var result = Eval("[map(filter(variables('names'), lambda('n', not(equals(lambdaVariables('n'), 'a')))), lambda('n', format('{0}/', lambdaVariables('n'))))]");
        Assert.Equal(["b/"], (List<object?>)result!);
    }
}
