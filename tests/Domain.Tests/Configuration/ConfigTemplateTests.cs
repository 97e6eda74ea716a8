using Deploy.Engine.Domain.Configuration;

namespace Deploy.Engine.Domain.Tests.Configuration;

public class ConfigTemplateTests
{
    [Theory]
    [InlineData("{\"db\": \"{{ db_url }}\"}", "db_url")]
    [InlineData("{{db_url}} {{ db_url }} {{  pool.size  }}", "db_url,pool.size")]
    [InlineData("{\"a\": {\"b\": 1}}", "")]
    [InlineData("no placeholders", "")]
    [InlineData("{{ _x-1 }}", "_x-1")]
    public void Names_the_parameters_a_template_uses(string template, string names)
    {
        var (found, error) = ConfigTemplate.Parse(template);
        Assert.Null(error);
        Assert.Equal(names, string.Join(",", found));
    }

    [Theory]
    [InlineData("{{ db url }}", "line 1")]
    [InlineData("{{ }}", "line 1")]
    [InlineData("a\nb {{ if x }}", "line 2")]
    [InlineData("{{ unclosed", "not closed")]
    [InlineData("{{ 1abc }}", "line 1")]
    [InlineData("{{ x | upper }}", "line 1")]
    public void Anything_but_a_plain_placeholder_is_an_error(string template, string error)
    {
        var (_, found) = ConfigTemplate.Parse(template);
        Assert.NotNull(found);
        Assert.Contains(error, found, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("url={{ db_url }};pool={{pool}}", "url=postgres://db;pool=5", null)]
    [InlineData("url={{ db_url }};x={{ missing }}", null, "missing")]
    public void Renders_or_names_the_first_missing_parameter(string template, string? text, string? missing)
    {
        var values = new Dictionary<string, string> { ["db_url"] = "postgres://db", ["pool"] = "5" };
        var rendered = ConfigTemplate.Render(template, values);
        Assert.Equal(text, rendered.Text);
        Assert.Equal(missing, rendered.Missing);
        Assert.Null(rendered.Error);
    }

    [Fact]
    public void A_value_that_looks_like_a_placeholder_is_inserted_as_text_not_expanded()
    {
        var rendered = ConfigTemplate.Render("{{ a }}", new Dictionary<string, string> { ["a"] = "{{ b }}", ["b"] = "secret" });
        Assert.Equal("{{ b }}", rendered.Text);
    }
}
